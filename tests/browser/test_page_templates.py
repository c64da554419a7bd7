"""The page templates render every kind and state in every language (no server): the branches the
browser scenarios do not walk through, such as a coalition's campaign, a full event or a closed one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from markupsafe import Markup

from campaigns.pages import routes, views
from campaigns.pages.i18n import LANGUAGES, Translator

CONSENT = {
    "purpose": "contact_by_organization",
    "version": "0123456789abcdef",
    "text": "I agree <b>to</b> it",
}
DETAILS: dict[str, dict[str, Any]] = {
    "petition": {"text": "First line\nSecond line", "target": {"name": "The minister", "office": "Health"}},
    "letter": {
        "targets": [{"name": "A. Member", "office": "Parliament", "jurisdiction": "BE"}],
        "subject": "Subject",
        "body_template": "Dear member,\nplease act.",
        "ask": "Act now",
        "allow_personalisation": False,
    },
    "event": {
        "event_type": "webinar",
        "starts_at": "2027-03-01T18:00:00+01:00",
        "ends_at": "2027-03-01T19:00:00+01:00",
        "time_zone": "Europe/Brussels",
        "online_url": "https://meet.example.org/room",
        "capacity": 40,
    },
    "story_collection": {"prompt": "Tell us", "consent_text": "Publish it"},
    "share": {"message": "Spread it", "link": "https://example.org"},
}


def view(kind: str, **changes: Any) -> dict[str, Any]:
    base = {
        "ref": "abcdefgh12",
        "campaign_id": "4b1c1b8e-0000-4000-8000-000000000000",
        "kind": kind,
        "title": "A <campaign>",
        "summary": "Summary",
        "details": DETAILS[kind],
        "goal": {"value": 1234, "target": 5000, "percent": 24.68},
        "counts": {"rsvp": 3},
        "accepts": ["x"],
        "double_opt_in": True,
        "consent_texts": [CONSENT],
        "organization": {"name": "Member Org", "logo_url": None, "privacy_notice_url": "https://m.example/p"},
        "owner": {"name": "Lead Org"},
        "coalition": {"name": "Rare Alliance"},
    }
    return {**base, **changes}


def render(template: str, language: str, page: dict[str, Any], **extra: Any) -> str:
    kind = page["kind"]
    context = {
        "view": page,
        "ref": page["ref"],
        "embed": False,
        "kind": kind,
        "action": views.ACTION_OF[kind][0],
        "accepting": bool(page["accepts"]),
        "form_action": f"/p/{page['ref']}",
        "form_token": "token",
        "page_url": "https://campaigns.example/p/abcdefgh12",
        "share_text": "Spread it",
        "seats": views.remaining_seats(page),
        "times": views.event_times(page),
        "now": datetime.now(UTC),
        "organization": page["organization"],
        "consents": page["consent_texts"],
        "quote": quote,
        "lang_of": lambda name: Markup(' lang="es"') if name == "summary" else Markup(""),
    }
    response = routes._render(template, Translator(language), **context, **extra)
    return bytes(response.body).decode()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(DETAILS))
def test_every_kind_renders_in_every_language(kind: str, language: str) -> None:
    html = render("page.html", language, view(kind), form={}, errors={})

    assert f'<html lang="{language}">' in html
    assert "A &lt;campaign&gt;" in html  # campaign texts are escaped
    assert "I agree &lt;b&gt;to&lt;/b&gt; it" in html
    assert "Rare Alliance" in html
    assert "Lead Org" in html
    assert "Member Org" in html  # whose link it is, beside the owner
    assert 'type="checkbox"' in html
    assert '<p class="summary" lang="es">' in html  # a text in another language than the page says so
    assert "checked" not in html.split('name="consent_', 1)[1].split(">", 1)[0]


def test_a_full_event_takes_no_more_rsvps() -> None:
    html = render("page.html", "en", view("event", counts={"rsvp": 40}), form={}, errors={})

    assert "the event is full" in html
    assert "<form" not in html
    assert "https://meet.example.org/room" in html


def test_a_closed_campaign_shows_no_form() -> None:
    html = render("page.html", "de", view("petition", accepts=[]), form={}, errors={})

    assert "<form" not in html
    assert "nimmt derzeit keine Teilnahme an" in html


def test_a_letter_that_may_not_be_personalised_is_shown_not_edited() -> None:
    html = render("page.html", "en", view("letter"), form={}, errors={})

    assert 'name="body"' not in html
    assert "please act." in html


@pytest.mark.parametrize("state", [{"pending": True}, {"already": True}, {"pending": False}])
def test_the_thank_you_page_says_what_happens_next(state: dict[str, bool]) -> None:
    html = render("thanks.html", "fr", view("petition"), supporter_token="abc.def", **state)

    assert "Merci" in html
    assert "/me/abc.def" in html
    assert "https://bsky.app/intent/compose?text=Spread%20it" in html


def test_each_text_is_marked_with_the_language_it_is_in() -> None:
    shown = view("petition", language="fr", default_language="en", title="Titre", summary="Summary")
    default = view("petition", language="en", default_language="en", title="Title", summary="Summary")

    languages = views.text_languages(shown, default)

    assert languages["title"] == "fr"
    assert languages["summary"] == "en"  # not translated: the default language's text
    assert languages["details.text"] == "en"
    assert views.text_languages(default, None)["title"] == "en"


@pytest.mark.parametrize("template", ["confirm.html", "me.html", "error.html"])
def test_the_pages_without_a_campaign_have_the_language_switcher(template: str) -> None:
    extra: dict[str, Any] = {
        "confirm.html": {"token": "t0ken-123", "form_token": "f", "confirmed": None},
        "me.html": {"erased": True, "token": "t0ken-123", "held": None},
        "error.html": {"message": "link-expired"},
    }[template]
    html = bytes(routes._render(template, Translator("pt"), **extra).body).decode()

    assert '<html lang="pt">' in html
    assert 'aria-label="Idioma"' in html
    assert 'href="?lang=fr"' in html
