"""Adoption: a coalition member organization takes part in a coalition campaign with its own link."""

from __future__ import annotations

from uuid import UUID

from campaigns.domain.campaigns import (
    Campaign,
    CampaignStatus,
)
from campaigns.usecases.access import Standing
from campaigns.usecases.base import MEMBER_ROLES, WRITE_SCOPE
from campaigns.usecases.disclosures import require_current_disclosure
from campaigns.usecases.lifecycle import Lifecycle
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Conflict, Forbidden, NotFound
from common.events import utcnow
from common.mongo import Document, Session


class Adoption(Lifecycle):
    """Links of organizations taking part in a campaign."""

    # ---- adoption --------------------------------------------------------------------------------

    async def links(self, *, principal: Principal, campaign_id: UUID) -> tuple[Standing, list[Document]]:
        standing = await self.standing(principal=principal, campaign_id=campaign_id)
        return standing, await self.repo.links_of_campaign(campaign_id)

    async def adopt(
        self, *, principal: Principal, campaign_id: UUID, organization_id: UUID
    ) -> tuple[Document, bool]:
        """The organization's own link to the campaign; (link, created)."""
        principal.require_scope(WRITE_SCOPE)
        self._require_organizer_of(principal, organization_id)
        campaign = await self.repo.get_campaign(campaign_id)
        if campaign is None:
            raise NotFound("no such campaign")
        if campaign.coalition_id is None:
            if campaign.owner_org_id != organization_id:  # others do not learn that it exists
                raise NotFound("no such campaign")
            raise Conflict("only coalition campaigns are adopted; this one belongs to one organization")
        membership = await self._membership(campaign.coalition_id, organization_id)
        if membership is None or membership["state"] not in ("active", "suspended"):
            raise NotFound("no such campaign")
        if membership["state"] != "active":
            raise Conflict(
                f"the organization's membership in the coalition is {membership['state']}",
                organization_id=str(organization_id),
            )
        if membership["role"] not in MEMBER_ROLES:
            raise Forbidden("observers follow a coalition's campaigns but do not adopt them")
        if campaign.status in (CampaignStatus.CLOSED, CampaignStatus.ARCHIVED):
            raise Conflict(
                f"a {campaign.status.value} campaign cannot be adopted",
                campaign_status=campaign.status.value,
            )
        existing = await self.repo.link_of(campaign.id, organization_id)
        if existing is None or existing["state"] != "active":
            await require_current_disclosure(self.repo, campaign.coalition_id, organization_id)
        now = utcnow()

        async def work(session: Session) -> tuple[Document, bool]:
            existing = await self.repo.link_of(campaign.id, organization_id, session)
            if existing is not None and existing["state"] == "active":
                return existing, False
            if not await self._is_active(campaign.coalition_id, organization_id, MEMBER_ROLES, session):  # type: ignore[arg-type]
                raise Conflict("the organization no longer takes part in the coalition")
            if existing is not None:
                link = await self.repo.set_link(
                    existing["_id"], {"state": "active", "updated_at": now}, session
                )
            else:
                link = self._link_doc(campaign, organization_id, "adopter", now)
                await self.repo.insert_link(link, session)
            await self._emit(
                session,
                ev.CampaignAdopted(**self._scope(campaign), organization_id=organization_id),
                campaign,
                organization_id,
            )
            await self._federate(session, campaign)
            return link, True

        return await self._changing(work)

    async def withdraw_adoption(
        self, *, principal: Principal, campaign_id: UUID, organization_id: UUID
    ) -> Document:
        standing = await self.standing(principal=principal, campaign_id=campaign_id, scope=WRITE_SCOPE)
        if not (self.organizes(principal, organization_id) or standing.manages):
            raise Forbidden(
                "only the adopting organization's organizers or the campaign's managers withdraw it"
            )
        campaign = standing.campaign
        link = await self.repo.link_of(campaign.id, organization_id)
        if link is None or link["role"] != "adopter":
            raise NotFound("the organization has not adopted this campaign")
        if link["state"] != "active":
            return link
        return await self._changing(
            lambda s: self._end_adoption(s, campaign, link["_id"], organization_id, "withdrawn")
        )

    async def _end_adoption(
        self, session: Session, campaign: Campaign, ref: str, org_id: UUID, reason: str
    ) -> Document:
        link = await self.repo.set_link(ref, {"state": "withdrawn", "updated_at": utcnow()}, session)
        await self._emit(
            session,
            ev.AdoptionWithdrawn(**self._scope(campaign), organization_id=org_id, reason=reason),
            campaign,
            org_id,
        )
        await self._federate(session, campaign)
        return link
