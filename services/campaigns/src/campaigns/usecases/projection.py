"""The coalition projection: coalitions and memberships as the coalition service's events tell them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from campaigns.usecases.adoption import Adoption
from common.events import utcnow
from common.mongo import Session


class Projection(Adoption):
    """Applies the coalition service's events."""

    # ---- the coalition projection ----------------------------------------------------------------

    async def coalition_seen(self, *, coalition_id: UUID, fields: dict[str, Any], session: Session) -> None:
        await self.repo.upsert_coalition(coalition_id, fields, session)
        self.lookups.forget()

    async def membership_changed(self, *, payload: Any, session: Session) -> None:
        """Keep the membership as it is after the change; a departed member's adoptions end."""
        doc = {
            "coalition_id": payload.coalition_id,
            "org_id": payload.organization_id,
            "role": payload.role,
            "state": payload.state,
            "sharing_level": payload.sharing_level,
            "updated_at": utcnow(),
        }
        await self.repo.upsert_membership(doc, session)
        self.lookups.forget()
        await self.repo.ensure_coalition(payload.coalition_id, session)
        if payload.state in ("left", "removed"):
            for link in await self.repo.active_adopter_links(
                payload.coalition_id, payload.organization_id, session
            ):
                campaign = await self.repo.get_campaign(link["campaign_id"], session)
                assert campaign is not None
                await self._end_adoption(
                    session, campaign, link["_id"], payload.organization_id, payload.state
                )
