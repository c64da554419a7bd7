"""The pages' languages: gettext catalogues (Babel), the reader's language, locale-aware formatting.

The catalogues are the committed `.po` files under `locale/`; they are compiled to `.mo` in memory the
first time a page needs them (at start-up: `catalogues()` is called when the router is mounted), so no
binary is committed and nothing is written to a read-only file system.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("en", "fr", "es", "pt", "de")
NATIVE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "pt": "Português", "de": "Deutsch"}
BABEL_LOCALES = {"en": "en", "fr": "fr_FR", "es": "es_ES", "pt": "pt_PT", "de": "de_DE"}


def compile_catalogue(po_path: Path) -> GNUTranslations:
    """A `.po` file compiled to `.mo` (in memory) and loaded as gettext translations."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=po_path.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return GNUTranslations(buffer)


@cache
def catalogues() -> dict[str, NullTranslations]:
    """Every language's translations; English is the source language (its catalogue may be empty)."""
    loaded: dict[str, NullTranslations] = {}
    for lang in LANGUAGES:
        po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        loaded[lang] = compile_catalogue(po) if po.exists() else NullTranslations()
    return loaded


def _accepted(header: str) -> list[str]:
    """The primary language tags of an Accept-Language header, most wanted first (q=0 left out)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary and quality > 0:
            ranked.append((-quality, index, primary))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(query: str | None, accept_language: str | None, default: str | None) -> str:
    """`?lang=`, then Accept-Language, then the campaign's default language, then English."""
    if query and query.lower() in LANGUAGES:
        return query.lower()
    for tag in _accepted(accept_language or ""):
        if tag in LANGUAGES:
            return tag
    if default in LANGUAGES:
        return str(default)
    return "en"


@dataclass(frozen=True)
class Translator:
    """What a template needs to speak one language: messages, numbers and dates."""

    language: str

    @property
    def _translations(self) -> NullTranslations:
        return catalogues()[self.language]

    def gettext(self, message: str, **values: Any) -> Markup:
        """A message (trusted: it comes from our catalogues) with its values escaped into it."""
        text = Markup(self._translations.gettext(message))  # noqa: S704 - our own catalogue
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> Markup:
        text = Markup(self._translations.ngettext(singular, plural, n))  # noqa: S704 - our own catalogue
        return text % {"num": self.number(n), **values}

    def number(self, value: float) -> str:
        return format_decimal(value, locale=BABEL_LOCALES[self.language])

    def percent(self, value: float) -> str:
        # The locale's own pattern ("37,5 %" in French), with at most one decimal.
        return format_percent(
            Decimal(str(round(value, 1))) / 100,
            locale=BABEL_LOCALES[self.language],
            decimal_quantization=False,
        )

    def date_time(self, moment: datetime, zone: str | None = None) -> str:
        tz = ZoneInfo(zone) if zone else None
        return format_datetime(moment, format="full", tzinfo=tz, locale=BABEL_LOCALES[self.language])

    def date(self, moment: datetime) -> str:
        return format_date(moment, format="long", locale=BABEL_LOCALES[self.language])

    def globals(self) -> dict[str, Any]:
        return {
            "_": self.gettext,
            "ngettext": self.ngettext,
            "fmt_number": self.number,
            "fmt_percent": self.percent,
            "fmt_datetime": self.date_time,
            "fmt_date": self.date,
            "lang": self.language,
        }
