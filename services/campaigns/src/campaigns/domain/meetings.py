"""Advocacy-day meetings: supporters who RSVP'd meet decision-makers, then report back how it went."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AnyHttpUrl, Field, model_validator

from campaigns.domain.details import (
    EventType,
    Line,
    Moment,
    Place,
    Strict,
    Text,
    check_when_and_where,
)
from common.errors import Conflict
from common.text import ONE_LINE


class MeetingOutcome(StrEnum):
    SUPPORTIVE = "supportive"
    UNDECIDED = "undecided"
    OPPOSED = "opposed"
    NO_SHOW = "no_show"
    FOLLOW_UP_NEEDED = "follow_up_needed"


class MeetingTargetIn(Strict):
    """A decision-maker: from the target directory by id, or named here (then no id)."""

    target_id: UUID | None = Field(
        None, description="A target of the organization's or coalition's directory"
    )
    name: Line | None = Field(None, description="The decision-maker's name, when not from the directory")
    office: Line | None = None

    @model_validator(mode="after")
    def _named(self) -> MeetingTargetIn:
        if self.target_id is None and self.name is None:
            raise ValueError("a target is a target_id from the directory or a name")
        return self


class MeetingIn(Strict):
    starts_at: Moment
    ends_at: Moment
    time_zone: Annotated[str, ONE_LINE] = Field(
        description="IANA time zone of the meeting, e.g. Europe/Brussels"
    )
    place: Place | None = None
    online_url: AnyHttpUrl | None = None
    agenda: Text | None = Field(None, description="What the attendees will ask for")
    targets: list[MeetingTargetIn] = Field(min_length=1, max_length=20)
    attendee_ids: list[UUID] = Field(
        min_length=1, max_length=50, description="Supporters who RSVP'd through the organization's link"
    )

    @model_validator(mode="after")
    def _coherent(self) -> MeetingIn:
        check_when_and_where(self, "a meeting")
        if len(set(self.attendee_ids)) != len(self.attendee_ids):
            raise ValueError("an attendee is named once")
        return self


class ReportIn(Strict):
    outcome: MeetingOutcome
    commitments: Text | None = Field(None, description="What the decision-maker committed to")
    follow_up: Text | None = Field(None, description="What happens next, and who does it")
    notes: Text | None = None


REPORT_TOKEN_PATTERN = r"^mr_[A-Za-z0-9_-]{43}$"  # noqa: S105 - a shape, not a secret


class AttendeeReport(ReportIn):
    report_token: str = Field(
        pattern=REPORT_TOKEN_PATTERN, description="The token of the report-back link e-mailed to the attendee"
    )


def require_advocacy_day(details: dict[str, Any]) -> None:
    if details.get("event_type") != EventType.ADVOCACY_DAY.value:
        raise Conflict(
            "meetings belong to advocacy days: an event campaign of event_type advocacy_day",
            event_type=details.get("event_type"),
        )


def require_held(starts_at: datetime, now: datetime) -> None:
    if now < starts_at:
        raise Conflict("the meeting has not taken place yet", starts_at=starts_at.isoformat())
