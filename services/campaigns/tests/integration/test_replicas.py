"""Exactness across replicas: two service instances (each with its own lookups cache) record concurrent
actions on one campaign; unique indexes keep the actions exact and the aggregator the totals."""

from __future__ import annotations

import asyncio
import uuid

from campaigns_world import CampaignsWorld, goal

from campaigns.domain.campaigns import ActionKind
from campaigns.repository import CampaignRepository
from campaigns.service import ActionInput, CampaignService, SupporterInput
from common.contracts import topics


async def test_two_replicas_record_concurrent_actions_exactly(cw: CampaignsWorld) -> None:
    owner = await cw.org("replicas")
    campaign = await cw.launched(owner, goal=goal("petition", target=40))
    ref = await cw.link_of(campaign["id"], owner)
    first: CampaignService = cw.service
    second = CampaignService(
        client=first.client,
        repo=CampaignRepository(first.repo.db),
        outbox=first.outbox,
        settings=first.settings,
    )

    def signature(n: int) -> ActionInput:
        person = SupporterInput(email=f"replica-{n}-{uuid.uuid4().hex[:6]}@example.net", first_name="Pat")
        return ActionInput(kind=ActionKind.SIGNATURE, supporter=person, consents={})

    actions = [signature(n) for n in range(40)]
    results = await asyncio.gather(
        *(
            (first if n % 2 else second).record_action(ref=ref, action=action, idempotency_key=None)
            for n, action in enumerate(actions)
        ),
        # the same people again through the other replica: counted once
        *(
            (second if n % 2 else first).record_action(ref=ref, action=action, idempotency_key=None)
            for n, action in enumerate(actions[:10])
        ),
    )

    assert sorted(r.already_recorded for r in results) == [False] * 40 + [True] * 10
    assert len({r.action.id for r in results}) == 40
    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {"signature": 40}
    assert stats["unique_supporters"] == 40
    assert [m["milestone"] for m in stats["milestones"]] == [25, 50, 75, 100]
    records = await cw.published(campaign["id"], topics.CAMPAIGNS_CAMPAIGNS)
    milestones = [r.data["milestone"] for r in records if r.type == "campaigns.goal.milestone_reached"]
    assert sorted(milestones) == [25, 50, 75, 100]
