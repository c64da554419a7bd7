"""A GET never writes: a campaign whose schedule has come due reads as launched (or closed) while the
stored campaign waits for the worker, and a caller who may not see it learns nothing and moves nothing.

Runs on a database of its own, with no worker, so that nothing but the request could apply the schedule.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from campaigns_world import CampaignsWorld

from campaigns.domain.campaigns import (
    ActionKind,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Goal,
    GoalMetric,
)
from campaigns.repository import INDEXES, CampaignRepository
from campaigns.service import CampaignService
from common import mongo
from common.auth import Principal
from common.errors import NotFound
from common.mongo import Session, in_transaction
from common.outbox import OUTBOX_INDEXES, Outbox

NOW = datetime.now(UTC)


@pytest.fixture
async def due(cw: CampaignsWorld) -> AsyncIterator[tuple[CampaignService, Campaign, str]]:
    live: CampaignService = cw.service
    db = live.client.get_database(f"reads_{uuid.uuid4().hex[:8]}", codec_options=mongo.CODEC_OPTIONS)
    await mongo.apply_indexes(db, (*OUTBOX_INDEXES, *INDEXES))
    repo = CampaignRepository(db)
    service = CampaignService(
        client=live.client, repo=repo, outbox=Outbox(db, source="urn:test"), settings=live.settings
    )
    campaign = Campaign(
        id=uuid.uuid4(),
        kind=CampaignKind.PETITION,
        title="Due to launch",
        summary="Its launch time has passed",
        details={"text": "Launch me.", "target": {"name": "Minister"}},
        goal=Goal(
            metric=GoalMetric.ACTIONS,
            action_kind=ActionKind.SIGNATURE,
            target=10,
            deadline=NOW + timedelta(days=30),
        ),
        owner_org_id=uuid.uuid4(),
        status=CampaignStatus.DRAFT,
        launch_at=NOW - timedelta(minutes=1),
        consent_texts={},
        created_by="test",
        created_at=NOW - timedelta(hours=1),
        updated_at=NOW - timedelta(hours=1),
    )
    ref = f"ref{uuid.uuid4().hex[:12]}"

    async def setup(session: Session) -> None:
        await repo.insert_campaign(campaign, session)
        await repo.insert_link(
            {**service._link_doc(campaign, campaign.owner_org_id, "owner", NOW), "_id": ref}, session
        )

    await in_transaction(live.client, setup)
    yield service, campaign, ref
    await live.client.drop_database(db.name)


def member_of(org: uuid.UUID, role: str = "organizer") -> Principal:
    return Principal(subject=str(uuid.uuid4()), kind="user", org_roles={org: role})  # type: ignore[dict-item]


async def test_reading_a_due_campaign_shows_it_launched_without_writing(
    due: tuple[CampaignService, Campaign, str],
) -> None:
    service, campaign, ref = due

    standing = await service.standing(principal=member_of(campaign.owner_org_id), campaign_id=campaign.id)
    _, public, _ = await service.public_link(ref)

    assert standing.campaign.status is CampaignStatus.ACTIVE
    assert public.status is CampaignStatus.ACTIVE
    stored = await service.repo.get_campaign(campaign.id)
    assert stored is not None
    assert stored.status is CampaignStatus.DRAFT  # the worker records it, not a read


async def test_an_outsider_asking_for_a_due_campaign_moves_nothing(
    due: tuple[CampaignService, Campaign, str],
) -> None:
    service, campaign, _ = due

    with pytest.raises(NotFound):
        await service.standing(principal=member_of(uuid.uuid4()), campaign_id=campaign.id)

    stored = await service.repo.get_campaign(campaign.id)
    assert stored is not None
    assert stored.status is CampaignStatus.DRAFT


async def test_a_change_records_the_due_schedule_first(due: tuple[CampaignService, Campaign, str]) -> None:
    service, campaign, _ = due

    updated = await service.update_campaign(
        principal=member_of(campaign.owner_org_id), campaign_id=campaign.id, changes={"title": "Renamed"}
    )

    assert updated.status is CampaignStatus.ACTIVE
    assert updated.title == "Renamed"
