"""Languages of a campaign: its default language, per-field translations and their fallback.

A campaign's own fields (title, summary, the kind's texts, consent texts) are in its default language.
A translation gives some of those fields in another language; a field it does not give falls back to
the default language's. Consent texts are translated per purpose, each translated text with its own
version (a digest of its wording), so a supporter agrees to the exact text shown in their language.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from campaigns.domain.campaigns import Campaign, CampaignKind


class Language(StrEnum):
    EN = "en"
    FR = "fr"
    ES = "es"
    PT = "pt"
    DE = "de"


DEFAULT_LANGUAGE = Language.EN
LANGUAGES = tuple(lang.value for lang in Language)

# The kind's own texts a translation may give (the rest of the details, such as dates, are the same in
# every language). Petition and event texts are nested objects or plain strings as in the details.
TRANSLATABLE_DETAILS: dict[CampaignKind, tuple[str, ...]] = {
    CampaignKind.PETITION: ("text", "target"),
    CampaignKind.LETTER: ("subject", "body_template", "ask"),
    CampaignKind.EVENT: ("description", "place"),
    CampaignKind.STORY_COLLECTION: ("prompt", "consent_text"),
    CampaignKind.SHARE: ("message",),
}


def pick_language(requested: str | None, available: set[str], default: str) -> str:
    """The language to show: the requested one (its primary subtag) when the campaign has it."""
    if requested:
        primary = requested.strip().lower().split("-")[0].split("_")[0]
        if primary == default or primary in available:
            return primary
    return default


@dataclass(frozen=True)
class Localized:
    """A campaign's texts in one language, each field falling back to the default language's."""

    language: str
    title: str
    summary: str
    details: dict[str, Any]
    consent_texts: dict[str, dict[str, str]]  # purpose -> {"version", "text"}


def localize(campaign: Campaign, language: str | None) -> Localized:
    """The campaign's texts in `language` (or the default language), field by field."""
    default = campaign.default_language
    chosen = pick_language(language, set(campaign.translations) | set(campaign.consent_translations), default)
    if chosen == default:
        return Localized(chosen, campaign.title, campaign.summary, campaign.details, campaign.consent_texts)
    given = campaign.translations.get(chosen, {})
    texts = campaign.consent_translations.get(chosen, {})
    return Localized(
        language=chosen,
        title=given.get("title") or campaign.title,
        summary=given.get("summary") or campaign.summary,
        details={**campaign.details, **given.get("details", {})},
        consent_texts={p: texts.get(p, t) for p, t in campaign.consent_texts.items()},
    )
