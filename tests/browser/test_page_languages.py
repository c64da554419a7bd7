"""The pages' catalogues: every message translated in every language, placeholders kept, and the
reader's language chosen from the URL, then the browser, then the campaign (no server needed)."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from campaigns.pages.i18n import LANGUAGES, LOCALE_DIR, Translator, catalogues, choose_language

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def messages() -> list[str]:
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        return [m.id for m in read_po(handle) if m.id]


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_is_translated_with_its_placeholders(language: str) -> None:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    untranslated = []
    for message_id in messages():
        message = catalog.get(message_id)
        if message is None or not message.string:
            untranslated.append(message_id)
            continue
        assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message_id)), message_id

    assert untranslated == []


def test_translations_are_not_copies_of_english() -> None:
    ids = messages()
    for language in ("fr", "es", "pt", "de"):
        same = [m for m in ids if catalogues()[language].gettext(m) == m]
        assert len(same) < len(ids) / 10, (language, same)  # a few (Online, E-mail, ...) may coincide


def test_the_language_comes_from_the_url_then_the_browser_then_the_campaign() -> None:
    assert choose_language("pt", "de-DE,de;q=0.9", "fr") == "pt"
    assert choose_language(None, "it-IT, es;q=0.8, de;q=0.5", "fr") == "es"
    assert choose_language(None, "de;q=0, it", "fr") == "fr"
    assert choose_language("xx", None, None) == "en"


def test_numbers_and_dates_follow_the_locale() -> None:
    assert Translator("de").number(1500) == "1.500"
    assert Translator("fr").number(1500) == "1\u202f500"
    assert Translator("en").number(1500) == "1,500"
    assert Translator("es").percent(37.5) == "37,5\u00a0%"
    assert Translator("en").percent(33.33) == "33.3%"
