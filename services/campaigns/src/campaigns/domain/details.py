"""What each kind of campaign says and asks: its own fields, validated here."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from campaigns.domain.campaigns import CampaignKind
from campaigns.domain.targets import Level
from common.errors import InvalidInput
from common.text import MULTI_LINE, ONE_LINE

# Names and one-liners are ONE_LINE, texts MULTI_LINE (common.text: no control or format characters).
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), MULTI_LINE]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), ONE_LINE]
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), MULTI_LINE]
Ask = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), ONE_LINE]


def _timestamp(value: Any) -> Any:
    """Only an RFC 3339 string is a time here: a number would silently be read as seconds since 1970."""
    if not isinstance(value, str | datetime):
        raise ValueError("a date and time is an RFC 3339 string with an offset")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_timestamp)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecisionMaker(Strict):
    name: Line
    office: Line | None = None
    jurisdiction: Line | None = None


class PetitionDetails(Strict):
    text: Text = Field(description="What the petition asks for")
    target: DecisionMaker = Field(description="The decision-maker it is addressed to")


class LetterTarget(Strict):
    name: Line
    office: Line
    jurisdiction: Line


class LetterDetails(Strict):
    targets: list[LetterTarget] = Field(
        default_factory=list,
        max_length=50,
        description="Decision-makers named on the letter (shown; not mailed: mailing needs `target_ids`)",
    )
    subject: Line
    body_template: Text = Field(description="The letter; supporters may personalise it when allowed")
    ask: Ask = Field(description="The clear ask, in one sentence")
    allow_personalisation: bool = True
    targeting: Literal["fixed", "by_location"] = Field(
        "fixed",
        description=(
            "`fixed`: the letter goes to `target_ids` (and names `targets`); `by_location`: the supporter's "
            "country and postal code choose the targets of the directories at the time of action"
        ),
    )
    target_ids: list[UUID] = Field(
        default_factory=list,
        max_length=50,
        description="Decision-makers of the owner's (or the coalition's) directory the letter is e-mailed to",
    )
    target_levels: list[Level] | None = Field(
        None, max_length=4, description="`by_location`: only targets of these levels (default: every level)"
    )
    delivery: Literal["per_letter", "digest"] = Field(
        "per_letter", description="One e-mail per letter and target, or one daily digest per target"
    )

    @model_validator(mode="after")
    def _addressed(self) -> LetterDetails:
        if self.targeting == "fixed" and not (self.targets or self.target_ids):
            raise ValueError("a letter with fixed targets names at least one (targets or target_ids)")
        if len(set(self.target_ids)) != len(self.target_ids):
            raise ValueError("a target is named twice in target_ids")
        return self


class EventType(StrEnum):
    ADVOCACY_DAY = "advocacy_day"
    TOWN_HALL = "town_hall"
    HEALTH_FAIR = "health_fair"
    SCREENING_DRIVE = "screening_drive"
    WEBINAR = "webinar"
    WORKSHOP = "workshop"


TIME_ZONES = frozenset(available_timezones())


class EventDetails(Strict):
    event_type: EventType
    description: Text | None = Field(None, description="What happens at the event")
    starts_at: Moment
    ends_at: Moment
    time_zone: Annotated[str, ONE_LINE] = Field(
        description="IANA time zone of the venue or the host, e.g. Europe/Brussels"
    )
    place: Place | None = None
    online_url: AnyHttpUrl | None = None
    capacity: int | None = Field(None, ge=1, le=1_000_000, description="RSVPs accepted; none means open")

    @model_validator(mode="after")
    def _coherent(self) -> EventDetails:
        check_when_and_where(self, "an event")
        return self


class WhenAndWhere(Protocol):
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def time_zone(self) -> str: ...
    @property
    def place(self) -> Any: ...
    @property
    def online_url(self) -> Any: ...


def check_when_and_where(it: WhenAndWhere, what: str) -> None:
    """An event's or a meeting's times in order, a place or an online link, and a real IANA time zone."""
    if it.ends_at <= it.starts_at:
        raise ValueError("ends_at must be after starts_at")
    if it.place is None and it.online_url is None:
        raise ValueError(f"{what} needs a place or an online link")
    if it.time_zone not in TIME_ZONES:
        raise ValueError("time_zone must be an IANA time zone name")
    try:
        ZoneInfo(it.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("time_zone must be an IANA time zone name") from exc


class StoryCollectionDetails(Strict):
    prompt: Text = Field(description="What supporters are asked to tell")
    consent_text: Text = Field(description="The consent to publication supporters agree to")


class ShareDetails(Strict):
    message: Message
    link: AnyHttpUrl


DETAILS_OF: dict[CampaignKind, type[Strict]] = {
    CampaignKind.PETITION: PetitionDetails,
    CampaignKind.LETTER: LetterDetails,
    CampaignKind.EVENT: EventDetails,
    CampaignKind.STORY_COLLECTION: StoryCollectionDetails,
    CampaignKind.SHARE: ShareDetails,
}


def validate_details(kind: CampaignKind, details: Any) -> dict[str, Any]:
    """The details as stored (JSON-ready), or a 422 problem naming what is wrong."""
    from pydantic import ValidationError

    try:
        model = DETAILS_OF[kind].model_validate(details)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in ("details", *e["loc"])), "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidInput(f"the details do not fit a {kind.value} campaign", errors=errors) from exc
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped


def event_window(details: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(details["starts_at"]), datetime.fromisoformat(details["ends_at"])
