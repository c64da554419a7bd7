"""The aggregator on real MongoDB, in isolation: actions recorded by the real intake into a database of
their own whose outbox nobody relays, so that the only counting is what each test does.

Exact totals per kind, organization, day and unique supporters; each milestone once; duplicates and
replays never count twice; two aggregators at once; a crash in the middle of a batch; the sweeper.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from campaigns_world import CampaignsWorld

from campaigns.aggregator import Aggregator
from campaigns.domain.campaigns import (
    ActionKind,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Goal,
    GoalMetric,
)
from campaigns.repository import INDEXES, CampaignRepository, Stats
from campaigns.service import ActionInput, CampaignService, SupporterInput
from common import mongo
from common.contracts import campaigns as ev
from common.events import CloudEvent
from common.mongo import Session, in_transaction
from common.outbox import OUTBOX, OUTBOX_INDEXES, Outbox

NOW = datetime.now(UTC)


@dataclass
class Bench:
    service: CampaignService
    repo: CampaignRepository
    campaign: Campaign
    refs: list[str]  # the owner's link and a second organization's link

    def aggregator(self, repo: CampaignRepository | None = None) -> Aggregator:
        return Aggregator(
            client=self.service.client,
            repo=repo or self.repo,
            outbox=self.service.outbox,
            sweep_grace_seconds=0.0,  # in the bench, anything recorded is due
        )

    async def sign(self, n: int, *, through: int = 0, email: str | None = None) -> None:
        person = SupporterInput(
            email=email or f"agg-{n}-{uuid.uuid4().hex[:6]}@example.net", first_name="Ana"
        )
        action = ActionInput(kind=ActionKind.SIGNATURE, supporter=person, consents={})
        await self.service.record_action(ref=self.refs[through], action=action, idempotency_key=None)

    async def recorded(self) -> list[ev.ActionRecorded]:
        """The recorded-action events waiting in the (never relayed) outbox."""
        docs = await self.repo.db[OUTBOX].find({"event.type": ev.ActionRecorded.event_type}).to_list()
        return [ev.ActionRecorded.model_validate(CloudEvent.model_validate(d["event"]).data) for d in docs]

    async def stats(self) -> Stats:
        return Stats.of(await self.repo.get_stats(self.campaign.id))

    async def milestone_events(self) -> list[int]:
        docs = await self.repo.db[OUTBOX].find({"event.type": ev.MilestoneReached.event_type}).to_list()
        return sorted(d["event"]["data"]["milestone"] for d in docs)


@pytest.fixture
async def bench(cw: CampaignsWorld) -> AsyncIterator[Bench]:
    live: CampaignService = cw.service
    db = live.client.get_database(f"aggregator_{uuid.uuid4().hex[:8]}", codec_options=mongo.CODEC_OPTIONS)
    await mongo.apply_indexes(db, (*OUTBOX_INDEXES, *INDEXES))
    repo = CampaignRepository(db)
    outbox = Outbox(db, source="urn:test:campaigns")
    service = CampaignService(client=live.client, repo=repo, outbox=outbox, settings=live.settings)
    owner, other = uuid.uuid4(), uuid.uuid4()
    campaign = Campaign(
        id=uuid.uuid4(),
        kind=CampaignKind.PETITION,
        title="Count me",
        summary="An aggregator test",
        details={"text": "Count every signature once.", "target": {"name": "Minister"}},
        goal=Goal(
            metric=GoalMetric.ACTIONS,
            action_kind=ActionKind.SIGNATURE,
            target=40,
            deadline=NOW + timedelta(days=30),
        ),
        owner_org_id=owner,
        status=CampaignStatus.ACTIVE,
        consent_texts={},
        created_by="test",
        created_at=NOW,
        updated_at=NOW,
    )
    refs = [f"ref{uuid.uuid4().hex[:12]}", f"ref{uuid.uuid4().hex[:12]}"]

    async def setup(session: Session) -> None:
        await repo.insert_campaign(campaign, session)
        for ref, org in zip(refs, (owner, other), strict=True):
            link = service._link_doc(campaign, org, "owner" if org == owner else "adopter", NOW)
            await repo.insert_link({**link, "_id": ref}, session)

    await in_transaction(live.client, setup)
    yield Bench(service, repo, campaign, refs)
    await live.client.drop_database(db.name)


async def test_a_batch_counts_every_kind_organization_day_and_supporter_exactly(bench: Bench) -> None:
    await asyncio.gather(*(bench.sign(n, through=n % 2) for n in range(30)))
    events = await bench.recorded()
    assert len(events) == 30

    counted = await bench.aggregator().count_recorded(events)

    assert counted == 30
    stats = await bench.stats()
    owner, other = (
        str(bench.campaign.owner_org_id),
        next(o for o in stats.by_org if o != str(bench.campaign.owner_org_id)),
    )
    assert stats.counts == {"signature": 30}
    assert stats.by_org == {owner: {"signature": 15}, other: {"signature": 15}}
    assert stats.unique_supporters == 30
    assert stats.supporters_by_org == {owner: 15, other: 15}
    assert sum(day["signature"] for day in stats.daily.values()) == 30
    assert [m["milestone"] for m in stats.milestones] == [25, 50, 75]
    assert await bench.milestone_events() == [25, 50, 75]


async def test_duplicated_and_replayed_events_never_count_twice(bench: Bench) -> None:
    await asyncio.gather(*(bench.sign(n) for n in range(12)))
    events = await bench.recorded()
    aggregator = bench.aggregator()

    assert await aggregator.count_recorded(events + events[:5]) == 12  # duplicates inside one batch
    assert await aggregator.count_recorded(events) == 0  # the whole batch consumed again
    assert await aggregator.count_recorded(events[3:7]) == 0

    stats = await bench.stats()
    assert stats.counts == {"signature": 12}
    assert stats.unique_supporters == 12


async def test_a_supporter_with_two_actions_counts_once_as_a_supporter(bench: Bench) -> None:
    # A petition takes signatures only; the second action of the same person is a repeat, so the
    # same person through the other organization's link must not count again either.
    email = f"twice-{uuid.uuid4().hex[:6]}@example.net"
    await bench.sign(1, through=0, email=email)
    await bench.sign(2, through=1, email=email)
    assert await bench.aggregator().count_recorded(await bench.recorded()) == 1
    stats = await bench.stats()
    assert stats.unique_supporters == 1
    assert stats.counts == {"signature": 1}


async def test_two_aggregators_at_once_count_each_action_once(bench: Bench) -> None:
    await asyncio.gather(*(bench.sign(n, through=n % 2) for n in range(40)))
    events = await bench.recorded()
    first, second = bench.aggregator(), bench.aggregator(CampaignRepository(bench.repo.db))

    # Overlapping batches, as two group members see them during a rebalance.
    results = await asyncio.gather(
        first.count_recorded(events[:30]),
        second.count_recorded(events[10:]),
        first.count_recorded(events[20:]),
        second.count_recorded(events[:15]),
    )

    assert sum(results) == 40
    stats = await bench.stats()
    assert stats.counts == {"signature": 40}
    assert stats.unique_supporters == 40
    assert [m["milestone"] for m in stats.milestones] == [25, 50, 75, 100]
    assert await bench.milestone_events() == [25, 50, 75, 100]


class CrashingRepository(CampaignRepository):
    """Dies after marking the batch counted and before its totals are written (a crash mid-batch)."""

    async def add_to_stats(self, campaign_id: uuid.UUID, inc: dict[str, int], session: Session) -> Stats:
        raise RuntimeError("killed in the middle of a batch")


async def test_a_crash_in_the_middle_of_a_batch_loses_and_doubles_nothing(bench: Bench) -> None:
    await asyncio.gather(*(bench.sign(n) for n in range(20)))
    events = await bench.recorded()
    await bench.aggregator().count_recorded(events[:5])

    with pytest.raises(RuntimeError, match="killed"):
        await bench.aggregator(CrashingRepository(bench.repo.db)).count_recorded(events[5:])

    assert (await bench.stats()).counts == {"signature": 5}  # nothing of the broken batch stuck
    assert await bench.repo.db["actions"].count_documents({"counted": False}) == 15
    restarted = bench.aggregator()
    assert await restarted.count_recorded(events) == 15  # the batch consumed again, from the start
    stats = await bench.stats()
    assert stats.counts == {"signature": 20}
    assert stats.unique_supporters == 20
    assert [m["milestone"] for m in stats.milestones] == [25, 50]
    assert await bench.milestone_events() == [25, 50]


async def test_the_sweeper_counts_actions_that_no_event_brought(bench: Bench) -> None:
    await asyncio.gather(*(bench.sign(n) for n in range(8)))

    aggregator = bench.aggregator()
    assert await aggregator.sweep() == 8
    assert await aggregator.sweep() == 0
    assert await aggregator.count_recorded(await bench.recorded()) == 0  # the late events change nothing
    stats = await bench.stats()
    assert stats.counts == {"signature": 8}
    assert stats.unique_supporters == 8
    assert await bench.repo.db["actions"].count_documents({"counted": False}) == 0
