"""MongoDB persistence of the coalition service: coalitions, memberships, the organization projection."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, IndexModel, ReturnDocument

from coalition.domain.coalitions import Coalition, CoalitionStatus, Visibility
from coalition.domain.memberships import CoalitionRole, MembershipState, SharingLevel
from coalition.domain.sharing import Acceptance, Agreement, Proposal
from common.mongo import Database, Document, Indexes, Session

COALITIONS = "coalitions"
MEMBERSHIPS = "memberships"
ORGANIZATIONS = "organizations"  # projection of identity's organizations

INDEXES = (
    Indexes(
        COALITIONS,
        (
            IndexModel([("slug", ASCENDING)], unique=True, name="slug_unique"),
            IndexModel(
                [("visibility", ASCENDING), ("status", ASCENDING), ("_id", ASCENDING)], name="directory"
            ),
            IndexModel([("focus_areas", ASCENDING)], name="by_focus_area"),
            IndexModel([("countries", ASCENDING)], name="by_country"),
        ),
    ),
    Indexes(
        MEMBERSHIPS,
        (
            IndexModel(
                [("coalition_id", ASCENDING), ("org_id", ASCENDING)], unique=True, name="coalition_org"
            ),
            IndexModel([("org_id", ASCENDING), ("state", ASCENDING)], name="by_org"),
            IndexModel([("state", ASCENDING), ("expires_at", ASCENDING)], name="expiring_invitations"),
        ),
    ),
)


def _coalition(doc: Document) -> Coalition:
    return Coalition.model_validate({**doc, "id": doc["_id"]})


# ---- a membership's data-sharing agreement, as stored in the membership document ------------------


def _proposal(doc: Document | None) -> Proposal | None:
    if not doc:
        return None
    return Proposal(level=SharingLevel(doc["level"]), at=doc["at"], by_org=doc["by_org"], by_user=doc["by"])


def _proposal_doc(proposal: Proposal) -> Document:
    return {
        "level": proposal.level.value,
        "at": proposal.at,
        "by_org": proposal.by_org,
        "by": proposal.by_user,
    }


def agreement_of(membership: Document) -> Agreement:
    """The agreement of a membership document (one made before acceptance existed has none on record)."""
    accepted = membership.get("sharing_acceptance")
    proposal = _proposal(accepted["proposal"]) if accepted else None
    return Agreement(
        recorded_level=SharingLevel(membership.get("sharing_level", SharingLevel.AGGREGATE_ONLY.value)),
        proposal=_proposal(membership.get("sharing_proposal")),
        acceptance=(
            Acceptance(at=accepted["at"], by_user=accepted["by"], proposal=proposal)
            if accepted and proposal
            else None
        ),
    )


def agreement_fields(agreement: Agreement) -> Document:
    """The membership document's fields that hold `agreement`."""
    accepted = agreement.acceptance
    return {
        "sharing_level": agreement.recorded_level.value,
        "sharing_proposal": _proposal_doc(agreement.proposal) if agreement.proposal else None,
        "sharing_acceptance": (
            {"at": accepted.at, "by": accepted.by_user, "proposal": _proposal_doc(accepted.proposal)}
            if accepted
            else None
        ),
    }


class CoalitionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # coalitions
    async def insert_coalition(self, coalition: Coalition, session: Session) -> None:
        await self.db[COALITIONS].insert_one(
            {"_id": coalition.id, **coalition.model_dump(mode="python", exclude={"id"})}, session=session
        )

    async def get_coalition(self, coalition_id: UUID, session: Session | None = None) -> Coalition | None:
        doc = await self.db[COALITIONS].find_one({"_id": coalition_id}, session=session)
        return _coalition(doc) if doc else None

    async def update_coalition(
        self, coalition_id: UUID, changes: dict[str, Any], session: Session
    ) -> Coalition:
        doc = await self.db[COALITIONS].find_one_and_update(
            {"_id": coalition_id}, {"$set": changes}, return_document=ReturnDocument.AFTER, session=session
        )
        assert doc is not None
        return _coalition(doc)

    async def directory(
        self, *, after: UUID | None, limit: int, focus_area: str | None, country: str | None, text: str | None
    ) -> list[Coalition]:
        query: dict[str, Any] = {
            "visibility": Visibility.PUBLIC.value,
            "status": CoalitionStatus.ACTIVE.value,
        }
        if after is not None:
            query["_id"] = {"$gt": after}
        if focus_area:
            query["focus_areas"] = focus_area
        if country:
            query["countries"] = country
        if text:
            pattern = re.compile(re.escape(text), re.IGNORECASE)
            query["$or"] = [{"name": pattern}, {"mission": pattern}, {"focus_areas": pattern}]
        docs = await self.db[COALITIONS].find(query).sort("_id", ASCENDING).limit(limit).to_list()
        return [_coalition(d) for d in docs]

    async def coalitions_by_id(self, ids: list[UUID]) -> dict[UUID, Coalition]:
        docs = await self.db[COALITIONS].find({"_id": {"$in": ids}}).to_list()
        return {d["_id"]: _coalition(d) for d in docs}

    # memberships
    async def get_membership(
        self, coalition_id: UUID, org_id: UUID, session: Session | None = None
    ) -> Document | None:
        return await self.db[MEMBERSHIPS].find_one(
            {"coalition_id": coalition_id, "org_id": org_id}, session=session
        )

    async def upsert_membership(self, doc: Document, session: Session) -> None:
        await self.db[MEMBERSHIPS].replace_one(
            {"coalition_id": doc["coalition_id"], "org_id": doc["org_id"]}, doc, upsert=True, session=session
        )

    async def memberships_of_coalition(
        self, coalition_id: UUID, states: list[MembershipState] | None = None
    ) -> list[Document]:
        query: dict[str, Any] = {"coalition_id": coalition_id}
        if states:
            query["state"] = {"$in": [s.value for s in states]}
        return await self.db[MEMBERSHIPS].find(query).sort("created_at", ASCENDING).to_list()

    async def memberships_of_org(
        self, org_id: UUID, states: list[MembershipState], session: Session | None = None
    ) -> list[Document]:
        query = {"org_id": org_id, "state": {"$in": [s.value for s in states]}}
        return await self.db[MEMBERSHIPS].find(query, session=session).sort("created_at", ASCENDING).to_list()

    async def memberships_of_orgs(self, coalition_id: UUID, org_ids: list[UUID]) -> list[Document]:
        return (
            await self.db[MEMBERSHIPS]
            .find({"coalition_id": coalition_id, "org_id": {"$in": org_ids}})
            .to_list()
        )

    async def count_active_leads(self, coalition_id: UUID, session: Session) -> int:
        return await self.db[MEMBERSHIPS].count_documents(
            {
                "coalition_id": coalition_id,
                "role": CoalitionRole.LEAD.value,
                "state": MembershipState.ACTIVE.value,
            },
            session=session,
        )

    async def agreements_needing_acceptance(self, limit: int = 200) -> list[Document]:
        """Memberships recorded as sharing contacts without the member organization's acceptance."""
        query = {"sharing_level": SharingLevel.CONTACTS_WITH_CONSENT.value, "sharing_acceptance": None}
        return await self.db[MEMBERSHIPS].find(query).limit(limit).to_list()

    async def due_invitations(self, now: datetime, limit: int = 200) -> list[Document]:
        query = {"state": MembershipState.INVITED.value, "expires_at": {"$lte": now}}
        return await self.db[MEMBERSHIPS].find(query).limit(limit).to_list()

    # organization projection
    async def get_organization(self, org_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[ORGANIZATIONS].find_one({"_id": org_id}, session=session)

    async def organizations_by_id(self, ids: list[UUID]) -> dict[UUID, Document]:
        return {d["_id"]: d for d in await self.db[ORGANIZATIONS].find({"_id": {"$in": ids}}).to_list()}

    async def upsert_organization(self, org_id: UUID, fields: dict[str, Any], session: Session) -> None:
        """Set `fields`; a newly seen organization starts active (a deactivation is never undone here)."""
        update: dict[str, Any] = {"$set": fields}
        if "active" not in fields:
            update["$setOnInsert"] = {"active": True}
        await self.db[ORGANIZATIONS].update_one({"_id": org_id}, update, upsert=True, session=session)
