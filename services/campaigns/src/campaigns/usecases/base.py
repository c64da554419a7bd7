"""What every use case of the campaigns service shares: its connections, the outbox, event scoping."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pymongo import AsyncMongoClient

from campaigns.config import Settings
from campaigns.domain.campaigns import PUBLIC_STATUSES, Campaign, CampaignStatus, Transition
from campaigns.domain.supporters import SupporterKeys
from campaigns.lookups import Lookups
from campaigns.repository import CampaignRepository
from common import scopes
from common.contracts import campaigns as ev
from common.events import EventPayload
from common.mongo import Document, Session, in_transaction
from common.outbox import Outbox

T = TypeVar("T")
READ_SCOPE = scopes.CAMPAIGNS_READ
WRITE_SCOPE = scopes.CAMPAIGNS_WRITE
MEMBER_ROLES = ("lead", "member")  # coalition roles that adopt campaigns and may see shared contacts

STATUS_EVENT: dict[Transition, type[ev._StatusChanged]] = {
    Transition.LAUNCH: ev.CampaignLaunched,
    Transition.PAUSE: ev.CampaignPaused,
    Transition.RESUME: ev.CampaignResumed,
    Transition.CLOSE: ev.CampaignClosed,
    Transition.ARCHIVE: ev.CampaignArchived,
}


class ServiceBase:
    def __init__(
        self,
        *,
        client: AsyncMongoClient[Document],
        repo: CampaignRepository,
        outbox: Outbox,
        settings: Settings,
        lookups: Lookups | None = None,
    ) -> None:
        self.client = client
        self.repo = repo
        self.outbox = outbox
        self.settings = settings
        self.keys = SupporterKeys(settings.supporter_secret_bytes)
        self.lookups = lookups or Lookups(repo, ttl_seconds=settings.lookup_cache_seconds)

    async def _changing(self, work: Callable[[Session], Awaitable[T]]) -> T:
        """Run a transaction that changes a campaign, a link or a membership, then drop cached lookups
        (other replicas drop theirs from the change stream)."""
        try:
            return await in_transaction(self.client, work)
        finally:
            self.lookups.forget()

    async def apply_schedule(self, campaign: Campaign) -> Campaign:
        """Apply a scheduled launch or close that has come due (the lifecycle use cases do it)."""
        return campaign

    async def _emit(
        self,
        session: Session,
        payload: EventPayload,
        campaign: Campaign,
        orgid: UUID | None = None,
        *,
        ordered: bool = True,
    ) -> None:
        await self.outbox.add(
            session,
            payload,
            key=str(campaign.id),
            subject=f"campaigns/{campaign.id}",
            orgid=str(orgid or campaign.owner_org_id),
            coalitionid=str(campaign.coalition_id) if campaign.coalition_id else None,
            ordered=ordered,
        )

    def _scope(self, campaign: Campaign) -> dict[str, Any]:
        return {
            "campaign_id": campaign.id,
            "owner_organization_id": campaign.owner_org_id,
            "coalition_id": campaign.coalition_id,
        }

    async def _federate(self, session: Session, campaign: Campaign) -> None:
        """Tell partners the campaign's public state, once it is public."""
        if campaign.status not in PUBLIC_STATUSES and campaign.status is not CampaignStatus.ARCHIVED:
            return
        links = await self.repo.links_of_campaign(campaign.id, session)
        await self._emit(
            session,
            ev.FederatedCampaign(
                **self._scope(campaign),
                kind=campaign.kind.value,
                title=campaign.title,
                summary=campaign.summary,
                status=campaign.status.value,
                goal=ev.Goal.model_validate(campaign.goal.model_dump()),
                participating_organization_ids=[d["org_id"] for d in links if d["state"] == "active"],
                launch_at=campaign.launch_at,
                close_at=campaign.close_at,
            ),
            campaign,
        )

    @staticmethod
    def _link_doc(campaign: Campaign, org_id: UUID, role: str, now: datetime) -> Document:
        return {
            "_id": secrets.token_urlsafe(9),
            "campaign_id": campaign.id,
            "coalition_id": campaign.coalition_id,
            "org_id": org_id,
            "role": role,
            "state": "active",
            "created_at": now,
            "updated_at": now,
        }
