"""Supporters' data: contacts under the sharing rules, consent withdrawal and erasure."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from campaigns.domain.supporters import (
    ConsentPurpose,
)
from campaigns.usecases.base import MEMBER_ROLES
from campaigns.usecases.lifecycle import Lifecycle
from common import scopes
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Forbidden, Gone, NotFound
from common.events import utcnow
from common.links import PREFIXES, SUPPORTER_PAGES, token_digest
from common.mongo import Document, Session, in_transaction
from common.outbox import OUTBOX


class Privacy(Lifecycle):
    """Contacts, consent and erasure."""

    async def contacts(
        self,
        *,
        principal: Principal,
        campaign_id: UUID,
        organization_id: UUID,
        own_only: bool = False,
        after: UUID | None = None,
        limit: int = 0,
    ) -> list[Document]:
        """Supporters whose contact details `organization_id` may see, for its organizers.

        Its own supporters who consented to be contacted by it; in a coalition campaign, also the
        supporters of organizations whose agreement is `contacts_with_consent` who agreed to share with the
        coalition, when `organization_id` is an active lead or member.
        """
        principal.require_scope(scopes.SUPPORTERS_READ)
        if not self.organizes(principal, organization_id):
            raise Forbidden("only the organization's organizers, admins and owners read its supporters")
        standing = await self.standing(
            principal=principal, campaign_id=campaign_id, scope=scopes.SUPPORTERS_READ
        )
        campaign = standing.campaign
        if organization_id not in standing.viewer_orgs:
            raise Forbidden("the organization does not take part in this campaign")
        own = {
            "org_id": organization_id,
            f"consents.{ConsentPurpose.CONTACT_BY_ORGANIZATION.value}": {"$exists": True},
        }
        clauses: list[dict[str, Any]] = [own]
        if (
            not own_only
            and campaign.coalition_id is not None
            and await self._is_active(campaign.coalition_id, organization_id, MEMBER_ROLES)
        ):
            sharing = [
                d["org_id"]
                for d in await self.repo.memberships_of_coalition(campaign.coalition_id)
                if d.get("sharing_level") == "contacts_with_consent" and d["org_id"] != organization_id
            ]
            if sharing:
                clauses.append(
                    {
                        "org_id": {"$in": sharing},
                        f"consents.{ConsentPurpose.SHARE_WITH_COALITION.value}": {"$exists": True},
                    }
                )
        return await self.repo.supporters_of(campaign_id, {"$or": clauses}, after=after, limit=limit)

    # ---- consent and erasure ---------------------------------------------------------------------

    async def supporter_by_token(self, token: str) -> Document:
        """The supporter a token names: the token of a new supporter's first response, or the token of
        their own pages' link e-mailed with a confirmation (`sp_...`, known here by its digest)."""
        if token.startswith(PREFIXES[SUPPORTER_PAGES] + "_"):
            supporter = await self.repo.supporter_by_page_digest(token_digest(token))
            if supporter is None:
                raise NotFound("no supporter has this token (an action is recorded once confirmed)")
        else:
            supporter = await self.repo.get_supporter(self.keys.supporter_of(token))
        if supporter is None:
            raise NotFound("no such supporter")
        if supporter.get("erased_at") is not None:
            raise Gone("this supporter's data was erased")
        return supporter

    async def withdraw_consent(self, *, token: str, purposes: list[ConsentPurpose]) -> Document:
        supporter = await self.supporter_by_token(token)
        campaign = await self.repo.get_campaign(supporter["campaign_id"])
        assert campaign is not None
        now = utcnow()

        async def work(session: Session) -> Document:
            current = await self.repo.get_supporter(supporter["_id"], session)
            if current is None or current.get("erased_at") is not None:
                raise Gone("this supporter's data was erased")
            held = [p for p in purposes if p.value in current.get("consents", {})]
            if not held:
                return current
            updated = await self.repo.update_supporter(
                current["_id"],
                {
                    "$unset": {f"consents.{p.value}": "" for p in held},
                    "$push": {
                        "consent_log": {"$each": [{"purpose": p.value, "withdrawn_at": now} for p in held]}
                    },
                },
                session,
            )
            if ConsentPurpose.PUBLISH_STORY in held:
                await self.repo.withdraw_publication(current["_id"], now, session)
            if ConsentPurpose.CONTACT_BY_ORGANIZATION in held:
                await self._redact_outbox(current["_id"], session)
            await self._emit(
                session,
                ev.ConsentWithdrawn(
                    **self._scope(campaign),
                    supporter_id=current["_id"],
                    organization_id=current["org_id"],
                    purposes=[p.value for p in held],
                ),
                campaign,
                current["org_id"],
            )
            return updated

        return await in_transaction(self.client, work)

    async def erase_by_token(self, *, token: str) -> None:
        supporter = await self.supporter_by_token(token)
        await self._erase(supporter, "supporter")

    async def erase_by_organization(
        self, *, principal: Principal, organization_id: UUID, supporter_id: UUID
    ) -> None:
        principal.require_scope(scopes.SUPPORTERS_ERASE)
        if not (principal.platform_admin or self.administers(principal, organization_id)):
            raise Forbidden("only the organization's admins and owners erase its supporters")
        supporter = await self.repo.get_supporter(supporter_id)
        if supporter is None or supporter["org_id"] != organization_id:
            raise NotFound("no such supporter of this organization")
        if supporter.get("erased_at") is not None:
            return
        await self._erase(supporter, "organization")

    async def _erase(self, supporter: Document, requested_by: str) -> None:
        campaign = await self.repo.get_campaign(supporter["campaign_id"])
        assert campaign is not None

        async def work(session: Session) -> None:
            if supporter.get("email"):  # asked to confirm again should they come back
                key = self.keys.address_key(supporter["org_id"], supporter["email"])
                await self.repo.forget_address(key, session)
            await self.repo.erase_supporter(supporter["_id"], utcnow(), session)
            await self.repo.forget_idempotent_of(supporter["_id"], session)
            await self._redact_outbox(supporter["_id"], session)
            await self._emit(
                session,
                ev.SupporterErased(
                    **self._scope(campaign),
                    supporter_id=supporter["_id"],
                    organization_id=supporter["org_id"],
                    requested_by=requested_by,
                ),
                campaign,
                supporter["org_id"],
            )

        await in_transaction(self.client, work)

    async def _redact_outbox(self, supporter_id: UUID, session: Session) -> None:
        """Drop contact details from this supporter's events still held in the outbox."""
        await self.repo.db[OUTBOX].update_many(
            {"event.data.supporter_id": str(supporter_id), "event.data.contact": {"$exists": True}},
            {
                "$unset": {"event.data.contact": ""},
                "$set": {"event.data.contact_shared_with_coalition": False},
            },
            session=session,
        )
