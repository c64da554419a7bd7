"""Reading what was sent to decision-makers: the organization's managers, for their own records."""

from __future__ import annotations

from uuid import UUID

from common.auth import OrgRole, Principal
from common.errors import Forbidden, NotFound
from common.mongo import Document
from notifications.repository import CAMPAIGNS, Repository

# Who manages an organization's campaigns (and so reads what they sent): organizers and up.
MANAGER_ROLE: OrgRole = "organizer"


class SentMessages:
    def __init__(self, *, repo: Repository) -> None:
        self.repo = repo

    async def of_campaign(
        self, *, principal: Principal, campaign_id: UUID, after: UUID | None, limit: int
    ) -> list[Document]:
        """The mail sent for the campaign on behalf of the organizations the caller manages, newest first.

        A record belongs to the organization whose link the letters came through (or that delivered the
        petition); another organization's managers never see it. A caller who manages neither the
        campaign's owner nor an adopter nor an organization that sent mail for it gets 404, as for a
        campaign that does not exist."""
        if principal.user_id is None:
            raise Forbidden("mail kept as sent is read by the organization's managers in person")
        managed = [org for org in principal.org_roles if principal.has_role(org, MANAGER_ROLE)]
        if not managed:
            raise Forbidden("only an organization's managers (organizers, admins, owners) read its sent mail")
        records = await self.repo.sent_messages(
            campaign_id=campaign_id, org_ids=managed, after=after, limit=limit
        )
        if records:
            return records
        campaign = await self.repo.find_one(CAMPAIGNS, {"_id": campaign_id}) or {}
        involved = {campaign.get("owner"), *campaign.get("adopters", [])}
        if not involved & set(managed) and not await self.repo.sent_messages(
            campaign_id=campaign_id, org_ids=managed, after=None, limit=1
        ):
            raise NotFound("no such campaign")
        return records
