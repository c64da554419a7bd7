"""Bodies of the advocacy API: meetings and report-backs, outcome goals, disclosures, impact reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from campaigns.domain.meetings import MeetingOutcome
from campaigns.domain.outcomes import Direction, Verdict
from common.contracts.campaigns import MeetingTarget, OrganizationDisclosure


class AttendeeRead(BaseModel):
    attendee_id: UUID
    supporter_id: UUID
    first_name: str | None = Field(None, description="None once the supporter's data was erased")
    last_name: str | None = None
    report_link_sent: bool = Field(description="Whether the attendee was mailed a report-back link")


class ReportRead(BaseModel):
    outcome: MeetingOutcome
    commitments: str | None = None
    follow_up: str | None = None
    notes: str | None = None
    follow_up_needed: bool
    reported_by: Literal["attendee", "manager"]
    reported_at: datetime


class MeetingRead(BaseModel):
    id: UUID
    campaign_id: UUID
    organization_id: UUID
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    place: str | None = None
    online_url: str | None = None
    agenda: str | None = None
    targets: list[MeetingTarget]
    attendees: list[AttendeeRead]
    report: ReportRead | None = None
    created_at: datetime


class PublicMeeting(BaseModel):
    """What an attendee's report-back link shows (no one's personal data)."""

    model_config = ConfigDict(frozen=True)

    campaign_title: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    place: str | None = None
    online_url: str | None = None
    targets: list[MeetingTarget]
    outcomes: list[MeetingOutcome] = Field(description="The outcomes a report-back chooses from")
    reported: bool


class MeasurementRead(BaseModel):
    id: UUID
    measured_on: date
    value: float
    percent: float = Field(description="Progress this value stands for, from baseline (0) to target (100)")
    source: str | None = None
    evidence_url: str | None = None
    note: str | None = None
    recorded_at: datetime


class MilestoneReached(BaseModel):
    milestone: int
    value: float
    reached_at: datetime


class OutcomeGoalRead(BaseModel):
    id: UUID
    campaign_id: UUID | None = None
    coalition_id: UUID | None = None
    indicator: str
    unit: str
    baseline: float
    target: float
    direction: Direction
    deadline: datetime
    data_source: str
    latest_value: float | None = None
    latest_on: date | None = None
    percent: float = Field(description="Progress of the latest measurement, clamped to 0..100")
    milestones: list[MilestoneReached]
    verdict: Verdict | None = None
    statement: str | None = None
    judged_at: datetime | None = None
    measurements: list[MeasurementRead] = []
    created_at: datetime


class OutcomeGoalList(BaseModel):
    campaign_id: UUID | None = None
    coalition_id: UUID | None = None
    items: list[OutcomeGoalRead]


class ConflictsRead(BaseModel):
    campaign_id: UUID
    organization_id: UUID
    statement: str
    updated_at: datetime


class DisclosuresRead(BaseModel):
    campaign_id: UUID
    organizations: list[OrganizationDisclosure]


class Publication(BaseModel):
    model_config = ConfigDict(extra="forbid")

    published: StrictBool = Field(description="Show the public impact report on the campaign's public links")


class PublicationRead(BaseModel):
    campaign_id: UUID
    published: bool
    public_path: str = Field(
        description="Where the public version is, under each link: /v1/public/links/{ref}/impact-report"
    )
