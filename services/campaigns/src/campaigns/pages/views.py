"""What a page shows and what its forms do, through the public API's own functions and use cases.

The page reads the campaign exactly as `GET /v1/public/links/{ref}` answers it (the same function
builds both), and a form post goes through the same route function as the JSON action endpoint, so
the page, the widget and the API validate, count and refuse alike.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from campaigns.api import public, schemas
from campaigns.domain.campaigns import ActionKind, CampaignKind
from campaigns.service import ActionInput, CampaignService, SupporterInput
from common.errors import DomainError

SUPPORTER_FIELDS = ("first_name", "last_name", "email", "postal_code", "country")
FORM_ORDER = (*SUPPORTER_FIELDS, "subject", "body", "title", "name_form", "consents", "platform")
CONSENT_PREFIX = "consent_"

# The action a hosted page posts for each kind (an event's page takes RSVPs; check-ins are at the door).
ACTION_OF: dict[str, tuple[str, type[BaseModel], Callable[..., Any]]] = {
    CampaignKind.PETITION.value: ("signature", schemas.SignatureIn, public.sign),
    CampaignKind.LETTER.value: ("letter", schemas.LetterIn, public.send_letter),
    CampaignKind.EVENT.value: ("rsvp", schemas.RsvpIn, public.rsvp),
    CampaignKind.STORY_COLLECTION.value: ("story", schemas.StoryIn, public.submit_story),
    CampaignKind.SHARE.value: ("share", schemas.ShareIn, public.share),
}


async def campaign_view(service: CampaignService, ref: str, language: str, settings: Any) -> dict[str, Any]:
    """The public campaign as the JSON API gives it (in `language` where the API translates), with the
    organization's allowed embedding origins (not part of the public answer) under `embed_origins`."""
    page = await service.public_page(ref, language)
    disclosures = await service.public_disclosures(page.campaign, page.link.org_id)
    challenge = bool(getattr(settings, "public_challenge_required", False))
    answer = public.public_campaign_of(page, challenge, disclosures)
    view: dict[str, Any] = json.loads(answer.model_dump_json())
    view["embed_origins"] = list(page.embed_origins)
    return view


def text_languages(view: dict[str, Any], default_view: dict[str, Any] | None) -> dict[str, str]:
    """The language each campaign text is in: a translation gives some fields, the others fall back to
    the default language's (WCAG 3.1.2: a part in another language than the page says so). Keys:
    `title`, `summary`, `details.<name>`, `consent.<purpose>`."""
    shown = str(view.get("language") or "en")
    default = str(view.get("default_language") or shown)
    base = default_view if default_view is not None and shown != default else None

    def of(value: Any, fallback: Any) -> str:
        return default if base is not None and value == fallback else shown

    found = {
        "title": of(view.get("title"), base and base.get("title")),
        "summary": of(view.get("summary"), base and base.get("summary")),
    }
    base_details = (base or {}).get("details") or {}
    for name, value in (view.get("details") or {}).items():
        found[f"details.{name}"] = of(value, base_details.get(name))
    base_consents = {c["purpose"]: c["text"] for c in (base or {}).get("consent_texts", [])}
    for consent in view.get("consent_texts", []):
        found[f"consent.{consent['purpose']}"] = of(consent["text"], base_consents.get(consent["purpose"]))
    return found


@dataclass
class Submission:
    """A form post turned into the JSON API's request body, or the reasons it cannot be."""

    body: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)  # form field -> message key


def read_form(kind: str, form: FormData, consents: list[dict[str, Any]]) -> Submission:
    def text(name: str) -> str | None:
        value = form.get(name)
        if not isinstance(value, str):
            return None
        value = value.strip()
        return value or None

    supporter = {name: text(name) for name in SUPPORTER_FIELDS}
    if supporter["country"]:
        supporter["country"] = supporter["country"].upper()
    body: dict[str, Any] = {
        "supporter": {k: v for k, v in supporter.items() if v is not None},
        "consents": {
            c["purpose"]: c["version"]
            for c in consents
            if form.get(CONSENT_PREFIX + c["purpose"]) == c["version"]
        },
    }
    if kind == CampaignKind.LETTER.value:
        for name in ("subject", "body"):
            if text(name) is not None:
                body[name] = text(name)
    elif kind == CampaignKind.STORY_COLLECTION.value:
        body.update(title=text("title"), body=text("body"), name_form=text("name_form"))
    elif kind == CampaignKind.SHARE.value:
        body["platform"] = text("platform") or "other"
    return Submission(body=body)


def field_of(loc: tuple[Any, ...]) -> str:
    """The form field a validation error is about (`supporter.email` -> `email`)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "supporter" and len(parts) > 1:
        return parts[1]
    if parts and parts[0] == "consents":
        return "consents"
    return parts[0] if parts else "form"


def validate(kind: str, submission: Submission) -> BaseModel | None:
    _, model, _ = ACTION_OF[kind]
    try:
        return model.model_validate(submission.body)
    except ValidationError as exc:
        found: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_input=False):
            found.setdefault(field_of(error["loc"]), error["type"])
        # In the order the fields come in the form, so that the error summary reads top to bottom.
        order = {name: index for index, name in enumerate(FORM_ORDER)}
        submission.errors.update(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))
        return None


@dataclass(frozen=True)
class Outcome:
    """What happened to a form's action: recorded, pending its e-mailed confirmation, or refused."""

    pending: bool
    already_recorded: bool
    supporter_token: str | None


def action_input(kind: str, model: Any, language: str) -> ActionInput:
    """The use case's input from a validated body, as the JSON API's action routes build it."""
    s = model.supporter
    extra: dict[str, Any] = {}
    if kind == CampaignKind.LETTER.value:
        extra["details"] = {k: v for k, v in {"subject": model.subject, "body": model.body}.items() if v}
    elif kind == CampaignKind.STORY_COLLECTION.value:
        extra["story"] = {"title": model.title, "body": model.body, "name_form": model.name_form.value}
    elif kind == CampaignKind.SHARE.value:
        extra["details"] = {"platform": model.platform}
    return ActionInput(
        kind=ActionKind(ACTION_OF[kind][0]),
        supporter=SupporterInput(
            email=str(s.email),
            first_name=s.first_name,
            last_name=s.last_name,
            postal_code=s.postal_code,
            country=s.country,
        ),
        consents=dict(model.consents),
        language=language,
        **extra,
    )


async def submit(
    service: CampaignService, ref: str, action: ActionInput, *, altcha: str | None, key: str | None
) -> Outcome:
    """Records the action through the same use case as the JSON API; a refusal raises its DomainError.

    With JavaScript the page has solved the proof-of-work and `altcha` is verified and spent as on the
    JSON API. Without it (no script can solve a challenge), the signed form token, the same-site check,
    the honeypot (checked by the route), the rate limit and the e-mailed confirmation stand in.
    """
    record: Any = service.record_action
    accepted = inspect.signature(record).parameters
    kwargs: dict[str, Any] = {"ref": ref, "action": action, "idempotency_key": key}
    if "altcha" in accepted:
        kwargs["altcha"] = altcha
        kwargs["honeypot"] = ""
        kwargs["challenge"] = bool(altcha)
    recorded = await record(**kwargs)
    return Outcome(
        pending=bool(getattr(recorded, "pending", False)),
        already_recorded=recorded.already_recorded,
        supporter_token=recorded.supporter_token,
    )


def remaining_seats(view: dict[str, Any]) -> int | None:
    capacity = view.get("details", {}).get("capacity")
    if capacity is None:
        return None
    return max(0, int(capacity) - int(view.get("counts", {}).get("rsvp", 0)))


def event_times(view: dict[str, Any]) -> tuple[datetime, datetime] | None:
    details = view.get("details", {})
    if "starts_at" not in details:
        return None
    return datetime.fromisoformat(details["starts_at"]), datetime.fromisoformat(details["ends_at"])


__all__ = ["DomainError"]
