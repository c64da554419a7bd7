"""The aggregator: turns recorded actions into a campaign's totals, goal progress and milestones.

It consumes `campaigns.action.recorded` from `campaigns.actions.v1` in batches (the topic is keyed by
campaign id, so one consumer of the group owns a campaign's partition at a time and replicas add
throughput) and applies each campaign's share of a batch in one MongoDB transaction: the actions it
has not counted yet are marked counted, each counter of the campaign's statistics document takes one
`$inc` for the whole batch, and the milestones crossed are recorded and announced (outbox) once.

Exactness does not depend on the partitioning: the `counted` marks on actions and supporters are
written in the same transaction as the totals, so a replayed or duplicated event finds its action
already counted, a crash before commit leaves nothing counted (the batch is consumed again), and two
writers of one campaign during a rebalance conflict in MongoDB and one retries. A sweeper counts
what no event brought (a broker that lost its log, a relay that died between publish and mark):
every acknowledged action is counted within `aggregate_sweep_seconds` at worst.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any
from uuid import UUID

from pymongo import AsyncMongoClient

from campaigns.domain.campaigns import Campaign, milestones_crossed
from campaigns.repository import CampaignRepository, Stats
from common.contracts import campaigns as ev
from common.events import EventPayload, utcnow
from common.mongo import Document, Session, in_transaction
from common.outbox import Outbox

log = logging.getLogger(__name__)


class Aggregator:
    def __init__(
        self,
        *,
        client: AsyncMongoClient[Document],
        repo: CampaignRepository,
        outbox: Outbox,
        sweep_grace_seconds: float = 5.0,
        sweep_limit: int = 5000,
    ) -> None:
        self.client = client
        self.repo = repo
        self.outbox = outbox
        self.sweep_grace = timedelta(seconds=sweep_grace_seconds)
        self.sweep_limit = sweep_limit

    async def count_recorded(self, recorded: list[ev.ActionRecorded]) -> int:
        """Count a batch of recorded-action events; returns how many actions were newly counted."""
        by_campaign: dict[UUID, list[UUID]] = defaultdict(list)
        for event in recorded:
            by_campaign[event.campaign_id].append(event.action_id)
        counted = await asyncio.gather(*(self.count(c, ids) for c, ids in by_campaign.items()))
        return sum(counted)

    async def sweep(self) -> int:
        """Count actions that are still uncounted a while after they were recorded."""
        found = await self.repo.uncounted_since(utcnow() - self.sweep_grace, self.sweep_limit)
        counted = 0
        for campaign_id, ids in found.items():
            counted += await self.count(campaign_id, ids)
        if counted:
            log.warning("aggregator sweep counted %d actions that no event had brought", counted)
        return counted

    async def count(self, campaign_id: UUID, action_ids: list[UUID]) -> int:
        """Add these actions of one campaign to its totals, each exactly once, in one transaction."""

        async def work(session: Session) -> int:
            actions = await self.repo.uncounted(action_ids, session)
            if not actions:
                return 0
            campaign = await self.repo.get_campaign(campaign_id, session)
            assert campaign is not None
            await self.repo.mark_counted([a.id for a in actions], session)
            # The supporter's organization is that of the first action that created the supporter.
            first_org: dict[UUID, UUID] = {}
            for action in sorted(actions, key=lambda a: a.created_at):
                first_org.setdefault(action.supporter_id, action.org_id)
            fresh = await self.repo.first_counted_supporters(list(first_org), session)
            inc: dict[str, int] = defaultdict(int)
            for action in actions:
                day = action.created_at.date().isoformat()
                inc[f"counts.{action.kind}"] += 1
                inc[f"by_org.{action.org_id}.{action.kind}"] += 1
                inc[f"daily.{day}.{action.kind}"] += 1
            for supporter_id in fresh:
                inc["unique_supporters"] += 1
                inc[f"supporters_by_org.{first_org[supporter_id]}"] += 1
            stats = await self.repo.add_to_stats(campaign_id, dict(inc), session)
            await self._progress(session, campaign, stats)
            return len(actions)

        return await in_transaction(self.client, work)

    async def _progress(self, session: Session, campaign: Campaign, stats: Stats) -> None:
        """Milestones crossed by this batch (each exactly once: they are recorded in the same
        transaction as the counts that crossed them), and the new totals for partners."""
        goal = campaign.goal
        value = goal.value(stats.counts, stats.unique_supporters)
        reached = {int(m["milestone"]) for m in stats.milestones}
        crossed = milestones_crossed(goal, value, reached)
        now = utcnow()
        if crossed:
            await self.repo.add_milestones(
                campaign.id, [{"milestone": m, "value": value, "reached_at": now} for m in crossed], session
            )
        scope: dict[str, Any] = {
            "campaign_id": campaign.id,
            "owner_organization_id": campaign.owner_org_id,
            "coalition_id": campaign.coalition_id,
        }
        for milestone in crossed:
            facts = {
                "milestone": milestone,
                "metric": goal.metric.value,
                "value": value,
                "target": goal.target,
            }
            await self._emit(session, ev.MilestoneReached(**scope, **facts), campaign)
            await self._emit(session, ev.FederatedMilestone(**scope, **facts), campaign)
        await self._emit(
            session,
            ev.FederatedProgress(
                **scope,
                counts=stats.counts,
                organization_counts=stats.by_org,
                unique_supporters=stats.unique_supporters,
                goal_value=value,
                goal_target=goal.target,
                goal_percent=goal.percent(value),
            ),
            campaign,
        )

    async def _emit(self, session: Session, payload: EventPayload, campaign: Campaign) -> None:
        await self.outbox.add(
            session,
            payload,
            key=str(campaign.id),
            subject=f"campaigns/{campaign.id}",
            orgid=str(campaign.owner_org_id),
            coalitionid=str(campaign.coalition_id) if campaign.coalition_id else None,
        )
