"""Campaigns: kinds and their action kinds, the lifecycle, schedules, goals and milestones.

The lifecycle:

    draft --launch--> active --pause--> paused --resume--> active
    active|paused --close--> closed        draft|closed --archive--> archived

A draft with a launch time launches on its own at that time; an active or paused campaign with a close
time closes on its own. Only an active campaign records actions.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from common.errors import Conflict


class CampaignKind(StrEnum):
    PETITION = "petition"
    LETTER = "letter"
    EVENT = "event"
    STORY_COLLECTION = "story_collection"
    SHARE = "share"


class ActionKind(StrEnum):
    SIGNATURE = "signature"
    LETTER = "letter"
    RSVP = "rsvp"
    CHECKIN = "checkin"
    STORY = "story"
    SHARE = "share"


ACTIONS_OF: dict[CampaignKind, tuple[ActionKind, ...]] = {
    CampaignKind.PETITION: (ActionKind.SIGNATURE,),
    CampaignKind.LETTER: (ActionKind.LETTER,),
    CampaignKind.EVENT: (ActionKind.RSVP, ActionKind.CHECKIN),
    CampaignKind.STORY_COLLECTION: (ActionKind.STORY,),
    CampaignKind.SHARE: (ActionKind.SHARE,),
}


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Transition(StrEnum):
    LAUNCH = "launch"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"
    ARCHIVE = "archive"


TRANSITIONS: dict[Transition, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    Transition.LAUNCH: (frozenset({CampaignStatus.DRAFT}), CampaignStatus.ACTIVE),
    Transition.PAUSE: (frozenset({CampaignStatus.ACTIVE}), CampaignStatus.PAUSED),
    Transition.RESUME: (frozenset({CampaignStatus.PAUSED}), CampaignStatus.ACTIVE),
    Transition.CLOSE: (frozenset({CampaignStatus.ACTIVE, CampaignStatus.PAUSED}), CampaignStatus.CLOSED),
    Transition.ARCHIVE: (frozenset({CampaignStatus.DRAFT, CampaignStatus.CLOSED}), CampaignStatus.ARCHIVED),
}

# Which statuses show the campaign to the public (its action links and totals).
PUBLIC_STATUSES = frozenset({CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.CLOSED})
EDITABLE_STATUSES = frozenset({CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.PAUSED})


def next_status(current: CampaignStatus, transition: Transition) -> CampaignStatus:
    allowed, target = TRANSITIONS[transition]
    if current not in allowed:
        raise Conflict(
            f"a {current.value} campaign cannot {transition.value}",
            campaign_status=current.value,
            allowed_from=sorted(s.value for s in allowed),
        )
    return target


class GoalMetric(StrEnum):
    ACTIONS = "actions"  # actions of one kind
    UNIQUE_SUPPORTERS = "unique_supporters"
    ATTENDANCE = "attendance"  # check-ins at an event


MILESTONES = (25, 50, 75, 100)


class Goal(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: GoalMetric
    action_kind: ActionKind | None = None
    target: int
    deadline: datetime

    def value(self, counts: dict[str, int], unique_supporters: int) -> int:
        if self.metric is GoalMetric.UNIQUE_SUPPORTERS:
            return unique_supporters
        if self.metric is GoalMetric.ATTENDANCE:
            return counts.get(ActionKind.CHECKIN.value, 0)
        assert self.action_kind is not None
        return counts.get(self.action_kind.value, 0)

    def percent(self, value: int) -> float:
        return round(100.0 * value / self.target, 2)


def milestones_crossed(goal: Goal, value: int, reached: set[int]) -> list[int]:
    """The milestones `value` has reached that were not reached before, in order."""
    return [m for m in MILESTONES if m not in reached and value * 100 >= m * goal.target]


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    kind: CampaignKind
    title: str
    summary: str
    details: dict[str, Any]
    goal: Goal
    owner_org_id: UUID
    coalition_id: UUID | None = None
    status: CampaignStatus
    launch_at: datetime | None = None
    close_at: datetime | None = None
    consent_texts: dict[str, dict[str, str]]  # purpose -> {"version", "text"} in force now
    double_opt_in: bool = False  # a new supporter's action counts once its e-mailed link is used
    default_language: str = "en"  # the language of the fields above
    translations: dict[str, dict[str, Any]] = {}  # language -> {"title", "summary", "details": {...}}
    consent_translations: dict[str, dict[str, dict[str, str]]] = {}  # language -> purpose -> text
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def action_kinds(self) -> tuple[ActionKind, ...]:
        return ACTIONS_OF[self.kind]

    def due_transition(self, now: datetime) -> Transition | None:
        """The scheduled change that has come due, if any."""
        running = self.status in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED)
        if running and self.close_at is not None and self.close_at <= now:
            return Transition.CLOSE
        if self.status is CampaignStatus.DRAFT and self.launch_at is not None and self.launch_at <= now:
            if self.close_at is not None and self.close_at <= now:
                return None  # its whole window passed while it was a draft: an organizer decides
            return Transition.LAUNCH
        return None

    def as_of(self, now: datetime) -> Campaign:
        """The campaign as it stands at `now`: a scheduled launch or close that has come due shows as
        taken effect (for reads, which never write; the worker or the next write records it)."""
        transition = self.due_transition(now)
        if transition is None:
            return self
        return self.model_copy(update={"status": next_status(self.status, transition)})

    def require_accepting(self, kind: ActionKind) -> None:
        if kind not in self.action_kinds:
            raise Conflict(
                f"a {self.kind.value} campaign does not take {kind.value} actions",
                accepted=[k.value for k in self.action_kinds],
            )
        if self.status is not CampaignStatus.ACTIVE:
            detail = {
                CampaignStatus.DRAFT: "the campaign has not started yet",
                CampaignStatus.PAUSED: "the campaign is paused and takes no actions for now",
                CampaignStatus.CLOSED: "the campaign is closed and takes no more actions",
                CampaignStatus.ARCHIVED: "the campaign is archived",
            }[self.status]
            raise Conflict(detail, campaign_status=self.status.value, campaign_id=str(self.id))
