"""The supporter pages over plain HTTP: forged and malformed posts refused, the honeypot, the security
headers, cacheable static files and the widget's size (on the same stack as the browser tests)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from browser.pages_world import World

WIDGET_BUDGET_BYTES = 20 * 1024


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=world.campaigns, timeout=30) as client:
        yield client


async def form_token(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def supporter(email: str, **extra: str) -> dict[str, str]:
    return {"first_name": "Test", "email": email, **extra}


async def test_a_post_from_another_site_is_refused(http: httpx.AsyncClient, world: World) -> None:
    path = f"/p/{world.refs['letter']}"
    token = await form_token(http, path)

    forged = await http.post(
        path,
        data={"form_token": token, **supporter("forged@example.net")},
        headers={"origin": "https://elsewhere.example", "sec-fetch-site": "cross-site"},
    )

    assert forged.status_code == 403
    assert "text/html" in forged.headers["content-type"]


async def test_a_post_without_a_valid_form_token_is_refused(http: httpx.AsyncClient, world: World) -> None:
    path = f"/p/{world.refs['letter']}"
    token = await form_token(http, f"/p/{world.refs['event']}")  # another link's form

    for data in ({}, {"form_token": "1.2.3"}, {"form_token": token}):
        answer = await http.post(path, data={**data, **supporter("tokenless@example.net")})
        assert answer.status_code == 403, data


async def test_a_post_that_is_not_a_form_is_a_400_page(http: httpx.AsyncClient, world: World) -> None:
    path = f"/p/{world.refs['letter']}"
    as_json = await http.post(path, json={"first_name": "x"})
    not_utf8 = await http.post(
        path, content=b"first_name=%FF\xff", headers={"content-type": "application/x-www-form-urlencoded"}
    )

    assert as_json.status_code == 400
    assert not_utf8.status_code == 400


async def test_a_filled_honeypot_is_thanked_and_ignored(http: httpx.AsyncClient, world: World) -> None:
    path = f"/p/{world.refs['letter']}"
    bot = await http.post(
        path,
        data={
            "form_token": await form_token(http, path),
            "website": "https://spam.example",
            **supporter("pot@example.net"),
        },
    )
    assert bot.status_code == 200
    assert "data-thanks" in bot.text

    person = await http.post(
        path, data={"form_token": await form_token(http, path), **supporter("pot@example.net")}
    )

    assert person.status_code == 200
    assert "/me/" in person.text  # a new supporter: the bot's post recorded nobody


async def test_an_invalid_form_names_the_field_and_keeps_the_input(
    http: httpx.AsyncClient, world: World
) -> None:
    path = f"/p/{world.refs['letter']}"
    answer = await http.post(
        path,
        data={"form_token": await form_token(http, path), **supporter("not-an-address", last_name="Lopes")},
    )

    assert answer.status_code == 422
    assert 'id="email-error"' in answer.text
    assert re.search(r'aria-describedby="[^"]*email-error', answer.text)
    assert 'value="Lopes"' in answer.text


async def test_pages_send_a_strict_content_security_policy(http: httpx.AsyncClient, world: World) -> None:
    page = await http.get(f"/p/{world.refs['petition']}")
    embed = await http.get(f"/p/{world.refs['petition']}/embed")

    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script>" not in page.text  # no inline script
    assert f"frame-ancestors 'self' {world.allowed.origin}" in embed.headers["content-security-policy"]
    assert world.other.origin not in embed.headers["content-security-policy"]


async def test_without_a_choice_the_page_speaks_the_campaigns_language(
    http: httpx.AsyncClient, world: World
) -> None:
    path = f"/p/{world.refs['share']}"
    default = await http.get(path)
    asked = await http.get(path, headers={"accept-language": "en-GB,en;q=0.9"})
    german = await http.get(path, params={"lang": "de"}, headers={"accept-language": "en"})

    assert '<html lang="es">' in default.text
    assert "Comparte la petición del cribado neonatal" in default.text
    assert '<html lang="en">' in asked.text
    assert "Share the screening petition" in asked.text  # the campaign's English title
    assert "El cribado neonatal salva vidas" in asked.text  # not translated: the default language's
    assert '<p class="summary" lang="es">' in asked.text  # ... and marked as Spanish (WCAG 3.1.2)
    assert '<h1 lang="es">' not in asked.text
    assert '<html lang="de">' in german.text  # ?lang= wins over the browser
    assert german.headers["content-language"] == "de"


async def test_unknown_links_get_a_404_page(http: httpx.AsyncClient) -> None:
    answer = await http.get("/p/nosuchlink0", headers={"accept-language": "pt-PT,pt;q=0.9"})

    assert answer.status_code == 404
    assert 'lang="pt"' in answer.text


async def test_static_files_are_cacheable_and_the_widget_is_small(http: httpx.AsyncClient) -> None:
    for path in ("/static/pages.css", "/static/pages.js", "/widget.js"):
        first = await http.get(path)
        assert first.status_code == 200
        assert "max-age=" in first.headers["cache-control"]
        again = await http.get(path, headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304

    widget = await http.get("/widget.js")
    assert len(widget.content) < WIDGET_BUDGET_BYTES


async def test_the_calendar_file_is_only_for_events(http: httpx.AsyncClient, world: World) -> None:
    event = await http.get(f"/p/{world.refs['event']}/event.ics")
    petition = await http.get(f"/p/{world.refs['petition']}/event.ics")

    assert event.status_code == 200
    assert event.headers["content-type"].startswith("text/calendar")
    assert petition.status_code == 404


async def test_the_confirmation_and_own_pages_refuse_unknown_tokens(http: httpx.AsyncClient) -> None:
    confirm = await http.get("/confirm/unknown-token-123")
    token = re.search(r'name="form_token" value="([^"]+)"', confirm.text)
    assert token is not None
    confirmed = await http.post("/confirm/unknown-token-123", data={"form_token": token.group(1)})
    mine = await http.get("/me/unknown-token-123")

    assert confirm.status_code == 200  # a GET shows a button and confirms nothing
    assert confirmed.status_code == 404
    assert mine.status_code == 404


JUNK_BODIES: list[tuple[str, bytes]] = [
    ("application/x-www-form-urlencoded", b""),
    ("application/x-www-form-urlencoded", b"&&&=&=="),
    ("application/x-www-form-urlencoded", b"first_name=" + b"x" * 30_000),
    ("application/x-www-form-urlencoded", b"form_token=" + b"9" * 500 + b"&email=a%00b"),
    ("application/x-www-form-urlencoded", "first_name=\u202e\u0000&consent_publish_story=x".encode()),
    ("application/x-www-form-urlencoded", b"withdraw=not-a-purpose&confirm_erasure=yes"),
    ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--"),
    ("text/plain", b"\xff\xfe"),
]


async def test_junk_never_breaks_a_page(http: httpx.AsyncClient, world: World) -> None:
    ref = world.refs["story_collection"]
    posts = [
        f"/p/{ref}",
        f"/p/{ref}/embed",
        "/confirm/abcdefgh",
        "/me/abcdefgh/consents",
        "/me/abcdefgh/erasure",
    ]
    token = await form_token(http, f"/p/{ref}")
    failures = []
    for path in posts:
        for kind, body in JUNK_BODIES:
            answer = await http.post(path, content=body, headers={"content-type": kind})
            if not 400 <= answer.status_code < 500:
                failures.append((path, kind, body[:40], answer.status_code))
        valid_token_junk = await http.post(
            path,
            data={"form_token": token, "name_form": "nobody", "email": "x" * 300, "first_name": "\u0007"},
        )
        if valid_token_junk.status_code >= 500:
            failures.append((path, "junk fields", b"", valid_token_junk.status_code))
    for path in (
        "/p/short",
        "/p/" + "x" * 40,
        "/p/bad%20ref!!",
        "/me/%00",
        "/confirm/" + "y" * 400,
        "/static/../x.css",
    ):
        answer = await http.get(path)
        if not 400 <= answer.status_code < 500:
            failures.append((path, "GET", b"", answer.status_code))

    assert failures == []


async def test_the_widget_speaks_the_catalogues_languages(http: httpx.AsyncClient) -> None:
    french = await http.get("/widget/strings.json", params={"lang": "fr"})
    german = await http.get("/widget/strings.json", headers={"accept-language": "de-CH,de;q=0.9"})

    assert french.headers["access-control-allow-origin"] == "*"
    assert french.json()["Sign the petition"] == "Signer la pétition"
    assert german.json()["Sign the petition"] == "Petition unterschreiben"
