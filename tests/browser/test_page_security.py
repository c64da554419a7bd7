"""The pages' form tokens and same-site check, and their Content-Security-Policy (no server needed)."""

from __future__ import annotations

from starlette.requests import Request

from campaigns.pages.security import (
    TOKEN_SECONDS,
    content_security_policy,
    form_token,
    origin_of,
    same_site_post,
    valid_form_token,
)

SECRET = b"a test secret"
NOW = 1_800_000_000.0


def post(**headers: str) -> Request:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in {"host": "pages.test", **headers}.items()]
    return Request({"type": "http", "method": "POST", "path": "/p/x", "headers": raw})


def test_a_form_token_is_valid_for_its_own_form_until_it_expires() -> None:
    token = form_token(SECRET, "page", "ref12345", now=NOW)

    assert valid_form_token(SECRET, token, "page", "ref12345", now=NOW + 10)
    assert not valid_form_token(SECRET, token, "page", "ref12345", now=NOW + TOKEN_SECONDS + 1)
    assert not valid_form_token(SECRET, token, "embed", "ref12345", now=NOW)  # another purpose
    assert not valid_form_token(SECRET, token, "page", "otherref1", now=NOW)  # another link
    assert not valid_form_token(b"another secret", token, "page", "ref12345", now=NOW)


def test_a_tampered_or_malformed_token_is_refused() -> None:
    issued, nonce, mac = form_token(SECRET, "page", "ref12345", now=NOW).split(".")

    for token in (
        f"{int(issued) + 1}.{nonce}.{mac}",
        f"{issued}.x{nonce}.{mac}",
        "",
        "a.b",
        "x.y.z",
        "1" * 300,
    ):
        assert not valid_form_token(SECRET, token, "page", "ref12345", now=NOW)


def test_a_post_another_site_declares_is_refused() -> None:
    assert same_site_post(post(origin="http://pages.test", sec_fetch_site="same-origin"))
    assert same_site_post(post())  # no browser header at all (a plain client): the token decides
    assert same_site_post(post(origin="https://public.example"), "https://public.example")  # behind a proxy
    assert not same_site_post(post(origin="https://evil.example"))
    assert not same_site_post(post(sec_fetch_site="cross-site"))
    assert not same_site_post(post(sec_fetch_site="same-site", origin="http://pages.test"))


def test_the_policy_allows_only_the_service_and_the_logo_origin() -> None:
    policy = content_security_policy(images=("https://logo.example",))
    framed = content_security_policy(frame_ancestors=["'self'", "https://org.example"])

    assert "script-src 'self';" in policy
    assert "img-src 'self' data: https://logo.example;" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    assert framed.endswith("frame-ancestors 'self' https://org.example")
    assert origin_of("https://logo.example/img/a.png?x=1") == "https://logo.example"
    assert origin_of("javascript:alert(1)") is None
