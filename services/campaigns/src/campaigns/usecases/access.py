"""Who may see and manage a campaign: decided from the caller's roles and the coalition projection."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from campaigns.domain.campaigns import (
    Campaign,
)
from campaigns.usecases.base import READ_SCOPE, WRITE_SCOPE, ServiceBase
from common.auth import Principal
from common.errors import Forbidden, NotFound
from common.events import utcnow
from common.mongo import Document, Session


@dataclass(frozen=True)
class Standing:
    """What the caller may see and do on one campaign."""

    campaign: Campaign
    manages_for: UUID | None  # the organization the caller manages the campaign for
    viewer_orgs: frozenset[UUID]  # the caller's organizations that see the campaign
    platform_admin: bool

    @property
    def manages(self) -> bool:
        return self.manages_for is not None or self.platform_admin


class Access(ServiceBase):
    """Who acts for whom: the caller's organizations, roles and standing on a campaign."""

    # ---- who acts for whom -----------------------------------------------------------------------

    @staticmethod
    def acting_orgs(principal: Principal) -> set[UUID]:
        if principal.kind == "client":
            return {principal.client_org} if principal.client_org else set()
        return set(principal.org_roles)

    @staticmethod
    def organizes(principal: Principal, org_id: UUID) -> bool:
        """Organizers, admins and owners of the organization, or its own API client (whose scope for the
        use case is checked first, by the use case: see `common.scopes`)."""
        if principal.kind == "client":
            return principal.client_org == org_id
        return principal.has_role(org_id, "organizer")

    @staticmethod
    def administers(principal: Principal, org_id: UUID) -> bool:
        """Admins and owners of the organization, or its own API client (scope checked by the use case)."""
        if principal.kind == "client":
            return principal.client_org == org_id
        return principal.has_role(org_id, "admin")

    def _require_organizer_of(self, principal: Principal, org_id: UUID) -> None:
        if not (principal.platform_admin or self.organizes(principal, org_id)):
            raise Forbidden("only the organization's organizers, admins and owners act for it here")

    async def _membership(
        self, coalition_id: UUID, org_id: UUID, session: Session | None = None
    ) -> Document | None:
        return await self.repo.get_membership(coalition_id, org_id, session)

    async def _is_active(
        self, coalition_id: UUID, org_id: UUID, roles: tuple[str, ...], session: Session | None = None
    ) -> bool:
        doc = await self._membership(coalition_id, org_id, session)
        return doc is not None and doc["state"] == "active" and doc["role"] in roles

    async def standing(self, *, principal: Principal, campaign_id: UUID, scope: str = READ_SCOPE) -> Standing:
        """The campaign as the caller may see it; a 404 to those who may not. An API client needs
        `scope` (the use case's, from `common.scopes`), checked before the campaign is looked up."""
        principal.require_scope(scope)
        campaign = await self.repo.get_campaign(campaign_id)
        if campaign is None:
            raise NotFound("no such campaign")
        orgs = self.acting_orgs(principal)
        viewers: set[UUID] = set()
        manages_for: UUID | None = None
        if campaign.coalition_id is None:
            if campaign.owner_org_id in orgs:
                viewers.add(campaign.owner_org_id)
                if self.organizes(principal, campaign.owner_org_id):
                    manages_for = campaign.owner_org_id
        else:
            for doc in await self.repo.memberships_of_orgs(list(orgs)):
                if doc["coalition_id"] != campaign.coalition_id or doc["state"] not in (
                    "active",
                    "suspended",
                ):
                    continue
                viewers.add(doc["org_id"])
                if (
                    doc["state"] == "active"
                    and doc["role"] == "lead"
                    and self.organizes(principal, doc["org_id"])
                ):
                    manages_for = manages_for or doc["org_id"]
        if not viewers and not principal.platform_admin:
            raise NotFound("no such campaign")
        # Reads never write: a schedule that has come due shows as applied; the worker records it.
        return Standing(campaign.as_of(utcnow()), manages_for, frozenset(viewers), principal.platform_admin)

    async def _managed(self, principal: Principal, campaign_id: UUID) -> Standing:
        standing = await self.standing(principal=principal, campaign_id=campaign_id, scope=WRITE_SCOPE)
        if not standing.manages:
            raise Forbidden(
                "only organizers and admins of the owning organization (or of a lead organization of the "
                "owning coalition) manage the campaign"
            )
        # A change starts from the stored campaign with any due schedule recorded first.
        stored = await self.repo.get_campaign(campaign_id)
        assert stored is not None
        return replace(standing, campaign=await self.apply_schedule(stored))
