"""Outcome goals of a campaign or a coalition: definition, measurements, milestones and verdict.

A measurement and the milestones it crosses are written in one transaction that also writes the goal's
document, so two concurrent measurements of one goal conflict in MongoDB and one is retried: it re-reads
the goal, sees the milestones the other recorded, and announces only those still unreached (each
exactly once, as the aggregator does for action goals).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID
from weakref import WeakValueDictionary

from campaigns.domain.campaigns import CampaignStatus
from campaigns.domain.outcomes import (
    MeasurementIn,
    OutcomeGoal,
    OutcomeGoalIn,
    VerdictIn,
    is_later,
    outcome_milestones_crossed,
)
from campaigns.usecases.advocacy import AdvocacyBase
from campaigns.usecases.base import READ_SCOPE, WRITE_SCOPE
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Conflict, NotFound
from common.events import EventPayload, utcnow
from common.mongo import Document, Session, in_transaction


@dataclass(frozen=True)
class GoalOwner:
    """Whose goal: a campaign's (`campaign_id`) or a coalition's (`coalition_id` only)."""

    campaign_id: UUID | None = None
    coalition_id: UUID | None = None


class Outcomes(AdvocacyBase):
    """Outcome goals and their measurements."""

    @cached_property
    def _measuring(self) -> WeakValueDictionary[UUID, asyncio.Lock]:
        return WeakValueDictionary()

    async def _owner_scope(
        self, principal: Principal, owner: GoalOwner, *, manage: bool
    ) -> tuple[dict[str, Any], UUID | None]:
        """The goal's owner fields, and the organization the caller acts for; refusals as for the owner."""
        scope = WRITE_SCOPE if manage else READ_SCOPE
        if owner.campaign_id is not None:
            if manage:
                standing = await self._managed(principal, owner.campaign_id)
                if standing.campaign.status is CampaignStatus.ARCHIVED:
                    raise Conflict(
                        "an archived campaign's goals are kept as they are", campaign_status="archived"
                    )
            else:
                standing = await self.standing(
                    principal=principal, campaign_id=owner.campaign_id, scope=scope
                )
            campaign = standing.campaign
            fields = {
                "campaign_id": campaign.id,
                "coalition_id": campaign.coalition_id,
                "owner_org_id": campaign.owner_org_id,
            }
            return fields, standing.manages_for or campaign.owner_org_id
        assert owner.coalition_id is not None
        if manage:
            cs = await self.managed_coalition(principal, owner.coalition_id, scope)
        else:
            cs = await self.coalition_standing(
                principal=principal, coalition_id=owner.coalition_id, scope=scope
            )
        return {"campaign_id": None, "coalition_id": owner.coalition_id, "owner_org_id": None}, cs.manages_for

    async def _goal_of(self, owner: GoalOwner, goal_id: UUID, session: Session | None = None) -> OutcomeGoal:
        goal = await self.advocacy.get_goal(goal_id, session)
        if goal is None or goal.campaign_id != owner.campaign_id:
            raise NotFound("no such outcome goal")
        if owner.campaign_id is None and goal.coalition_id != owner.coalition_id:
            raise NotFound("no such outcome goal")
        return goal

    async def _emit_outcome(
        self, session: Session, payload: EventPayload, goal: OutcomeGoal, orgid: UUID | None
    ) -> None:
        if goal.campaign_id is not None:
            campaign = await self.repo.get_campaign(goal.campaign_id, session)
            assert campaign is not None
            await self._emit(session, payload, campaign, orgid)
        else:
            assert goal.coalition_id is not None
            await self._emit_for_coalition(session, payload, goal.coalition_id, orgid)

    @staticmethod
    def _outcome_facts(goal: OutcomeGoal) -> dict[str, Any]:
        return {
            "goal_id": goal.id,
            "campaign_id": goal.campaign_id,
            "coalition_id": goal.coalition_id,
            "owner_organization_id": goal.owner_org_id,
            "indicator": goal.indicator,
            "unit": goal.unit,
        }

    async def create_outcome_goal(
        self, *, principal: Principal, owner: GoalOwner, new: OutcomeGoalIn
    ) -> OutcomeGoal:
        fields, _ = await self._owner_scope(principal, owner, manage=True)
        goal = OutcomeGoal(
            id=uuid.uuid4(),
            **fields,
            indicator=new.indicator,
            unit=new.unit,
            baseline=new.baseline,
            target=new.target,
            direction=new.direction,
            deadline=new.deadline,
            data_source=new.data_source,
            created_by=principal.subject,
            created_at=utcnow(),
        )
        await in_transaction(self.client, lambda s: self.advocacy.insert_goal(goal, s))
        return goal

    async def outcome_goals(
        self, *, principal: Principal, owner: GoalOwner
    ) -> tuple[list[OutcomeGoal], dict[UUID, list[Document]]]:
        """The goals with their measurements, oldest first."""
        await self._owner_scope(principal, owner, manage=False)
        goals = await self.advocacy.goals_of(campaign_id=owner.campaign_id, coalition_id=owner.coalition_id)
        measured: dict[UUID, list[Document]] = {g.id: [] for g in goals}
        for doc in await self.advocacy.measurements_of(list(measured)):
            measured[doc["goal_id"]].append(doc)
        return goals, measured

    async def record_measurement(
        self, *, principal: Principal, owner: GoalOwner, goal_id: UUID, measurement: MeasurementIn
    ) -> tuple[OutcomeGoal, Document]:
        _, org_id = await self._owner_scope(principal, owner, manage=True)
        await self._goal_of(owner, goal_id)  # another owner's goal is not written, not even locked
        # One measurement of a goal at a time in this process: concurrent transactions on one document
        # would only abort and retry into each other; across replicas the transaction decides.
        lock = self._measuring.setdefault(goal_id, asyncio.Lock())
        async with lock:
            return await self._measure(principal, owner, goal_id, measurement, org_id)

    async def _measure(
        self,
        principal: Principal,
        owner: GoalOwner,
        goal_id: UUID,
        measurement: MeasurementIn,
        org_id: UUID | None,
    ) -> tuple[OutcomeGoal, Document]:

        async def work(session: Session) -> tuple[OutcomeGoal, Document]:
            # The goal's document is written first: a concurrent measurement of the same goal conflicts
            # at once (and is retried after this one commits), and what is read next is current.
            goal = await self.advocacy.update_goal(goal_id, {"$inc": {"measurements": 1}}, session)
            goal = await self._goal_of(owner, goal_id, session)
            now = utcnow()
            doc: Document = {
                "_id": uuid.uuid4(),
                "goal_id": goal.id,
                "measured_on": measurement.measured_on.isoformat(),
                "value": measurement.value,
                "source": measurement.source,
                "evidence_url": str(measurement.evidence_url) if measurement.evidence_url else None,
                "note": measurement.note,
                "recorded_by": principal.subject,
                "recorded_at": now,
            }
            await self.advocacy.insert_measurement(doc, session)
            update: dict[str, Any] = {}
            crossed: list[int] = []
            if is_later(measurement.measured_on, now, goal.latest_on, goal.latest_recorded_at):
                update["$set"] = {
                    "latest_value": measurement.value,
                    "latest_on": measurement.measured_on.isoformat(),
                    "latest_recorded_at": now,
                }
                crossed = outcome_milestones_crossed(goal, measurement.value)
                if crossed:
                    reached = [
                        {"milestone": m, "value": measurement.value, "reached_at": now} for m in crossed
                    ]
                    update["$push"] = {"milestones": {"$each": reached}}
            if update:
                goal = await self.advocacy.update_goal(goal.id, update, session)
            facts = {
                **self._outcome_facts(goal),
                "baseline": goal.baseline,
                "target": goal.target,
                "percent": goal.percent(goal.latest_value),
            }
            await self._emit_outcome(
                session,
                ev.OutcomeMeasured(
                    **facts,
                    measurement_id=doc["_id"],
                    measured_on=measurement.measured_on,
                    value=measurement.value,
                    direction=goal.direction.value,
                ),
                goal,
                org_id,
            )
            for milestone in crossed:
                await self._emit_outcome(
                    session,
                    ev.OutcomeMilestoneReached(**facts, milestone=milestone, value=measurement.value),
                    goal,
                    org_id,
                )
            return goal, doc

        return await in_transaction(self.client, work)

    async def judge_outcome(
        self, *, principal: Principal, owner: GoalOwner, goal_id: UUID, verdict: VerdictIn
    ) -> OutcomeGoal:
        """Achieved, partly achieved or missed, once the deadline has passed; said once."""
        _, org_id = await self._owner_scope(principal, owner, manage=True)
        now = utcnow()

        async def work(session: Session) -> OutcomeGoal:
            goal = await self._goal_of(owner, goal_id, session)
            if now < goal.deadline:
                raise Conflict("the goal's deadline has not passed yet", deadline=goal.deadline.isoformat())
            if goal.verdict is not None:
                raise Conflict("the goal was already judged", verdict=goal.verdict.value)
            goal = await self.advocacy.update_goal(
                goal.id,
                {
                    "$set": {
                        "verdict": verdict.verdict.value,
                        "statement": verdict.statement,
                        "judged_at": now,
                        "judged_by": principal.subject,
                    }
                },
                session,
            )
            await self._emit_outcome(
                session,
                ev.OutcomeJudged(
                    **self._outcome_facts(goal), verdict=verdict.verdict.value, statement=verdict.statement
                ),
                goal,
                org_id,
            )
            return goal

        return await in_transaction(self.client, work)
