"""Outcome goals: an indicator measured outside the platform, its progress from baseline to target and
the 25/50/75/100 % milestones on the way (each reached once), and the verdict after the deadline."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from campaigns.domain.campaigns import MILESTONES
from campaigns.domain.details import Line, Moment, Strict, Text
from common.text import MULTI_LINE, ONE_LINE

Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), ONE_LINE]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), MULTI_LINE]
# Indicator values: JSON numbers (not booleans or strings), finite, within a range no indicator leaves.
Value = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False, strict=True)]


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"


class Verdict(StrEnum):
    ACHIEVED = "achieved"
    PARTLY_ACHIEVED = "partly_achieved"
    MISSED = "missed"


class OutcomeGoalIn(Strict):
    indicator: Line = Field(description="What is measured, e.g. 'Clinics open one evening a week'")
    unit: Unit = Field(description="The unit of the values, e.g. '%', 'clinics', 'days'")
    baseline: Value = Field(description="The value when the goal was set")
    target: Value = Field(description="The value the campaign aims for")
    direction: Direction
    deadline: Moment
    data_source: Line = Field(description="Where the values come from (a register, a survey, a ministry)")

    @model_validator(mode="after")
    def _towards_the_target(self) -> OutcomeGoalIn:
        if self.direction is Direction.INCREASE and self.target <= self.baseline:
            raise ValueError("an increasing goal's target must be above its baseline")
        if self.direction is Direction.DECREASE and self.target >= self.baseline:
            raise ValueError("a decreasing goal's target must be below its baseline")
        return self


class MeasurementIn(Strict):
    measured_on: date = Field(description="The date the value is for")
    value: Value
    source: Line | None = Field(None, description="Where this value comes from, if not the goal's source")
    evidence_url: AnyHttpUrl | None = Field(None, description="A link to the evidence (report, register)")
    note: Note | None = None


class VerdictIn(Strict):
    verdict: Verdict
    statement: Text = Field(description="What was achieved and why, in the managers' words")


class OutcomeGoal(BaseModel):
    """An outcome goal as stored: its definition, its latest measurement and the milestones reached."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    campaign_id: UUID | None = None
    coalition_id: UUID | None = None
    owner_org_id: UUID | None = None
    indicator: str
    unit: str
    baseline: float
    target: float
    direction: Direction
    deadline: datetime
    data_source: str
    latest_value: float | None = None
    latest_on: date | None = None
    latest_recorded_at: datetime | None = None
    milestones: list[dict[str, Any]] = []
    verdict: Verdict | None = None
    statement: str | None = None
    judged_at: datetime | None = None
    created_by: str
    created_at: datetime

    @property
    def reached(self) -> set[int]:
        return {int(m["milestone"]) for m in self.milestones}

    def percent(self, value: float | None) -> float:
        return progress_percent(self.baseline, self.target, self.direction, value)


def progress_percent(baseline: float, target: float, direction: Direction, value: float | None) -> float:
    """Progress from baseline (0 %) to target (100 %), clamped to 0..100, in the goal's direction."""
    if value is None:
        return 0.0
    span = target - baseline
    done = value - baseline
    if direction is Direction.DECREASE:
        span, done = -span, -done
    if span <= 0:
        return 0.0
    return round(max(0.0, min(100.0, 100.0 * done / span)), 2)


def outcome_milestones_crossed(goal: OutcomeGoal, value: float) -> list[int]:
    """The milestones `value` reaches that the goal had not reached before, in order."""
    span = goal.target - goal.baseline
    done = value - goal.baseline
    if goal.direction is Direction.DECREASE:
        span, done = -span, -done
    # Compared without dividing (as action goals do): 100 % is reached exactly at the target.
    return [m for m in MILESTONES if m not in goal.reached and done * 100 >= m * span]


def is_later(on: date, recorded_at: datetime, than_on: date | None, than_at: datetime | None) -> bool:
    """Whether a measurement is newer than the goal's latest (by its date, then by when it was recorded)."""
    if than_on is None:
        return True
    if on != than_on:
        return on > than_on
    return than_at is None or recorded_at >= than_at
