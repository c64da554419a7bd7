"""What the advocacy use cases share: their repository, coalition standing and coalition-keyed events."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from uuid import UUID

from campaigns.advocacy_repository import AdvocacyRepository
from campaigns.usecases.access import Access
from campaigns.usecases.base import READ_SCOPE
from common.auth import Principal
from common.errors import Forbidden, NotFound
from common.events import EventPayload
from common.mongo import Session


@dataclass(frozen=True)
class CoalitionStanding:
    """What the caller may see and do on one coalition (as the campaigns service's projection tells)."""

    coalition_id: UUID
    manages_for: UUID | None  # an active lead organization the caller organizes
    viewer_orgs: frozenset[UUID]
    platform_admin: bool

    @property
    def manages(self) -> bool:
        return self.manages_for is not None or self.platform_admin


class AdvocacyBase(Access):
    @cached_property
    def advocacy(self) -> AdvocacyRepository:
        return AdvocacyRepository(self.repo.db)

    async def coalition_standing(
        self, *, principal: Principal, coalition_id: UUID, scope: str = READ_SCOPE
    ) -> CoalitionStanding:
        """Active and suspended members see a coalition's goals and reports; a 404 to anyone else."""
        principal.require_scope(scope)
        viewers: set[UUID] = set()
        manages_for: UUID | None = None
        for doc in await self.repo.memberships_of_orgs(list(self.acting_orgs(principal))):
            if doc["coalition_id"] != coalition_id or doc["state"] not in ("active", "suspended"):
                continue
            viewers.add(doc["org_id"])
            if (
                doc["state"] == "active"
                and doc["role"] == "lead"
                and self.organizes(principal, doc["org_id"])
            ):
                manages_for = manages_for or doc["org_id"]
        if not viewers and not principal.platform_admin:
            raise NotFound("no such coalition")
        return CoalitionStanding(coalition_id, manages_for, frozenset(viewers), principal.platform_admin)

    async def managed_coalition(
        self, principal: Principal, coalition_id: UUID, scope: str
    ) -> CoalitionStanding:
        standing = await self.coalition_standing(principal=principal, coalition_id=coalition_id, scope=scope)
        if not standing.manages:
            raise Forbidden(
                "only organizers and admins of an active lead organization manage the coalition's goals"
            )
        return standing

    async def _emit_for_coalition(
        self, session: Session, payload: EventPayload, coalition_id: UUID, orgid: UUID | None
    ) -> None:
        await self.outbox.add(
            session,
            payload,
            key=str(coalition_id),
            subject=f"coalitions/{coalition_id}",
            orgid=str(orgid) if orgid else None,
            coalitionid=str(coalition_id),
        )
