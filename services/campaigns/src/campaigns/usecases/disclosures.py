"""Funding disclosures and conflicts of interest of the organizations taking part in a campaign.

Identity's `identity.organization.disclosures_updated` events are projected here (with organization
names, for reports); a campaign's public information shows the declarations of its owner and of the
organization whose link it is, and every federation of a public campaign is followed by
`federation.campaign.disclosures_changed` with those of every organization taking part. A coalition
that requires a current disclosure refuses adoption (409 `disclosure-required`) to a member without one.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from campaigns.domain.campaigns import PUBLIC_STATUSES, Campaign, CampaignStatus
from campaigns.domain.disclosures import ConflictsIn, DisclosureRequired, is_current
from campaigns.repository import CampaignRepository
from campaigns.usecases.advocacy import AdvocacyBase
from campaigns.usecases.base import WRITE_SCOPE
from common.auth import Principal
from common.contracts import campaigns as ev
from common.contracts import identity as idn
from common.errors import NotFound
from common.events import utcnow
from common.mongo import Document, Session, in_transaction


async def require_current_disclosure(
    repo: CampaignRepository, coalition_id: UUID, org_id: UUID, session: Session | None = None
) -> None:
    """Refuse (409 `disclosure-required`) when the coalition requires a current funding declaration
    and the organization has none declared less than a year ago."""
    from campaigns.advocacy_repository import AdvocacyRepository

    coalition = await repo.get_coalition(coalition_id, session)
    if not (coalition and coalition.get("require_current_disclosure")):
        return
    declared = (await AdvocacyRepository(repo.db).orgs([org_id], session)).get(org_id, {})
    if not is_current(declared.get("declared_at"), utcnow()):
        raise DisclosureRequired(
            "the coalition requires a funding disclosure declared less than a year ago before adopting "
            "its campaigns; declare it on the identity service (PUT /v1/organizations/{id}/disclosures)",
            organization_id=str(org_id),
            declared_at=declared["declared_at"].isoformat() if declared.get("declared_at") else None,
        )


class Disclosures(AdvocacyBase):
    """Disclosures shown with campaigns, conflicts of interest, and identity's declarations projected."""

    # ---- the projection of identity's events -----------------------------------------------------
    async def organization_seen(self, *, payload: Any, session: Session) -> None:
        if isinstance(payload, idn.OrganizationRegistered | idn.OrganizationUpdated):
            await self.advocacy.set_org(payload.organization_id, {"name": payload.name}, session)
            return
        await self.advocacy.set_org(
            payload.organization_id,
            {
                "funders": [f.model_dump(mode="python") for f in payload.funders],
                "declared_at": payload.declared_at,
                "updated_at": utcnow(),
            },
            session,
        )
        for campaign_id in await self.advocacy.campaigns_linked_to(payload.organization_id, session):
            campaign = await self.repo.get_campaign(campaign_id, session)
            if campaign is not None:
                await self._federate_disclosures(session, campaign)

    # ---- reading ---------------------------------------------------------------------------------
    async def organization_disclosures(
        self, campaign: Campaign, org_ids: list[UUID] | None = None, session: Session | None = None
    ) -> list[ev.OrganizationDisclosure]:
        """The disclosures of these organizations (default: every active link's) on the campaign."""
        links = [d for d in await self.repo.links_of_campaign(campaign.id, session) if d["state"] == "active"]
        roles = {d["org_id"]: d["role"] for d in links}
        roles.setdefault(campaign.owner_org_id, "owner")
        wanted = org_ids if org_ids is not None else list(roles)
        wanted = list(dict.fromkeys(o for o in wanted if o in roles))
        declared = await self.advocacy.orgs(wanted, session)
        conflicts = await self.advocacy.conflicts_of(campaign.id, session)
        now = utcnow()
        out: list[ev.OrganizationDisclosure] = []
        for org_id in wanted:
            d = declared.get(org_id, {})
            out.append(
                ev.OrganizationDisclosure(
                    organization_id=org_id,
                    role="owner" if roles[org_id] == "owner" else "adopter",
                    declared_at=d.get("declared_at"),
                    current=is_current(d.get("declared_at"), now),
                    funders=[ev.DisclosedFunder.model_validate(f) for f in d.get("funders", [])],
                    conflicts_of_interest=conflicts.get(org_id, {}).get("statement"),
                )
            )
        return out

    async def public_disclosures(
        self, campaign: Campaign, link_org_id: UUID
    ) -> list[ev.OrganizationDisclosure]:
        """For a public link: the owner's disclosures and those of the organization whose link it is."""
        return await self.organization_disclosures(campaign, [campaign.owner_org_id, link_org_id])

    async def campaign_disclosures(
        self, *, principal: Principal, campaign_id: UUID
    ) -> list[ev.OrganizationDisclosure]:
        standing = await self.standing(principal=principal, campaign_id=campaign_id)
        return await self.organization_disclosures(standing.campaign)

    # ---- conflicts of interest -------------------------------------------------------------------
    async def declare_conflicts(
        self, *, principal: Principal, campaign_id: UUID, body: ConflictsIn
    ) -> Document:
        """An organization taking part (owner or adopter) states its conflicts of interest; its organizers."""
        principal.require_scope(WRITE_SCOPE)
        self._require_organizer_of(principal, body.organization_id)
        campaign = await self.repo.get_campaign(campaign_id)
        link = await self.repo.link_of(campaign_id, body.organization_id) if campaign else None
        if campaign is None or link is None:  # others do not learn that it exists
            raise NotFound("no such campaign")
        now = utcnow()
        fields = {"statement": body.statement, "updated_at": now, "updated_by": principal.subject}

        async def work(session: Session) -> Document:
            await self.advocacy.set_conflicts(campaign.id, body.organization_id, fields, session)
            await self._federate_disclosures(session, campaign)
            return {"campaign_id": campaign.id, "organization_id": body.organization_id, **fields}

        return await in_transaction(self.client, work)

    # ---- federation ------------------------------------------------------------------------------
    async def _federate(self, session: Session, campaign: Campaign) -> None:
        """Each federation of the campaign is followed by its participants' disclosures."""
        await super()._federate(session, campaign)
        await self._federate_disclosures(session, campaign)

    async def _federate_disclosures(self, session: Session, campaign: Campaign) -> None:
        if campaign.status not in PUBLIC_STATUSES and campaign.status is not CampaignStatus.ARCHIVED:
            return
        organizations = await self.organization_disclosures(campaign, session=session)
        await self._emit(
            session, ev.FederatedDisclosures(**self._scope(campaign), organizations=organizations), campaign
        )
