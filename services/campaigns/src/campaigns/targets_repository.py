"""MongoDB persistence of decision-makers and of what is delivered to them.

Collections: targets (each decision-maker as it is now, owned by an organization or a coalition);
target_versions (every version ever saved, so a letter names exactly whom it was addressed to);
letter_deliveries (one per letter and target: queued, sent or failed, from the notifications service's
events); petition_deliveries (the PDF and CSV handed to a decision-maker, and how it went).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from bson import Binary
from pymongo import ASCENDING, IndexModel, ReturnDocument

from campaigns.domain.targets import TargetFields
from common.mongo import Database, Document, Indexes, Session

TARGETS = "targets"
TARGET_VERSIONS = "target_versions"
LETTER_DELIVERIES = "letter_deliveries"
PETITION_DELIVERIES = "petition_deliveries"

TARGET_INDEXES = (
    Indexes(
        TARGETS,
        (
            IndexModel([("organization_id", ASCENDING), ("_id", ASCENDING)], name="by_organization"),
            IndexModel([("coalition_id", ASCENDING), ("_id", ASCENDING)], name="by_coalition"),
            IndexModel([("country", ASCENDING), ("retired", ASCENDING)], name="by_country"),
        ),
    ),
    Indexes(
        TARGET_VERSIONS,
        (IndexModel([("target_id", ASCENDING), ("version", ASCENDING)], unique=True, name="target_version"),),
    ),
    Indexes(
        LETTER_DELIVERIES,
        (
            IndexModel(
                [("letter_id", ASCENDING), ("target_id", ASCENDING)], unique=True, name="letter_target"
            ),
            IndexModel(
                [("campaign_id", ASCENDING), ("state", ASCENDING), ("_id", ASCENDING)], name="by_state"
            ),
            IndexModel([("campaign_id", ASCENDING), ("_id", ASCENDING)], name="by_campaign"),
        ),
    ),
    Indexes(
        PETITION_DELIVERIES,
        (IndexModel([("campaign_id", ASCENDING), ("_id", ASCENDING)], name="by_campaign"),),
    ),
)
FIELDS = tuple(TargetFields.model_fields)


@dataclass(frozen=True)
class Target:
    """A decision-maker at one version; `organization_id` or `coalition_id` owns the directory entry."""

    id: UUID
    version: int
    organization_id: UUID | None
    coalition_id: UUID | None
    fields: TargetFields
    retired: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, doc: Document) -> Target:
        return cls(
            id=doc["target_id"] if "target_id" in doc else doc["_id"],
            version=doc["version"],
            organization_id=doc.get("organization_id"),
            coalition_id=doc.get("coalition_id"),
            fields=TargetFields.model_validate({k: doc[k] for k in FIELDS if doc.get(k) is not None}),
            retired=doc.get("retired", False),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )

    def document(self) -> Document:
        return {
            "_id": self.id,
            "version": self.version,
            "organization_id": self.organization_id,
            "coalition_id": self.coalition_id,
            **self.fields.model_dump(mode="python"),
            "retired": self.retired,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class LetterDelivery:
    id: UUID
    campaign_id: UUID
    letter_id: UUID
    organization_id: UUID
    target_id: UUID
    target_version: int
    target_name: str
    state: str  # queued | sent | failed
    reason: str | None
    attempts_failed: int
    sent_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, doc: Document) -> LetterDelivery:
        return cls(
            id=doc["_id"],
            campaign_id=doc["campaign_id"],
            letter_id=doc["letter_id"],
            organization_id=doc["organization_id"],
            target_id=doc["target_id"],
            target_version=doc["target_version"],
            target_name=doc["target_name"],
            state=doc["state"],
            reason=doc.get("reason"),
            attempts_failed=doc.get("attempts_failed", 0),
            sent_at=doc.get("sent_at"),
            updated_at=doc["updated_at"],
        )


class TargetRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # the directory
    async def insert_target(self, target: Target, created_by: str, session: Session) -> None:
        doc = target.document()
        await self.db[TARGETS].insert_one(doc, session=session)
        await self._keep_version(doc, created_by, session)

    async def _keep_version(self, doc: Document, created_by: str, session: Session) -> None:
        version = {k: v for k, v in doc.items() if k != "_id"}
        await self.db[TARGET_VERSIONS].insert_one(
            {
                **version,
                "_id": f"{doc['_id']}:{doc['version']}",
                "target_id": doc["_id"],
                "saved_by": created_by,
            },
            session=session,
        )

    async def save_version(
        self, target: Target, expected_version: int, created_by: str, session: Session
    ) -> Target | None:
        """Store `target` as the next version, unless someone else saved one meanwhile (None)."""
        doc = target.document()
        updated = await self.db[TARGETS].find_one_and_replace(
            {"_id": target.id, "version": expected_version},
            doc,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if updated is None:
            return None
        await self._keep_version(doc, created_by, session)
        return Target.of(updated)

    async def get_target(self, target_id: UUID, session: Session | None = None) -> Target | None:
        doc = await self.db[TARGETS].find_one({"_id": target_id}, session=session)
        return Target.of(doc) if doc else None

    async def targets_of(
        self,
        *,
        organization_id: UUID | None,
        coalition_id: UUID | None,
        level: str | None,
        include_retired: bool,
        after: UUID | None,
        limit: int,
    ) -> list[Target]:
        query: dict[str, Any] = (
            {"organization_id": organization_id} if organization_id else {"coalition_id": coalition_id}
        )
        if level is not None:
            query["level"] = level
        if not include_retired:
            query["retired"] = False
        if after is not None:
            query["_id"] = {"$gt": after}
        docs = await self.db[TARGETS].find(query).sort("_id", ASCENDING).limit(limit).to_list()
        return [Target.of(d) for d in docs]

    async def targets_by_id(self, ids: list[UUID], session: Session | None = None) -> list[Target]:
        docs = await self.db[TARGETS].find({"_id": {"$in": ids}}, session=session).to_list()
        return [Target.of(d) for d in docs]

    async def candidates(self, *, owners: list[dict[str, UUID]], country: str) -> list[Target]:
        """Current targets of these directories representing (part of) `country`."""
        docs = await self.db[TARGETS].find({"$or": owners, "country": country, "retired": False}).to_list()
        return [Target.of(d) for d in docs]

    async def versions_of(self, target_id: UUID) -> list[Target]:
        cursor = self.db[TARGET_VERSIONS].find({"target_id": target_id}).sort("version", ASCENDING)
        return [Target.of(d) for d in await cursor.to_list()]

    # letters
    async def queue_letter(self, docs: list[Document], session: Session) -> None:
        if docs:
            await self.db[LETTER_DELIVERIES].insert_many(docs, session=session)

    async def letter_sent(
        self, letter_id: UUID, target_id: UUID, sent_at: datetime, session: Session
    ) -> None:
        await self.db[LETTER_DELIVERIES].update_one(
            {"letter_id": letter_id, "target_id": target_id},
            {"$set": {"state": "sent", "sent_at": sent_at, "reason": None, "updated_at": sent_at}},
            session=session,
        )

    async def letter_failed(
        self, letter_id: UUID, target_id: UUID, reason: str, final: bool, now: datetime, session: Session
    ) -> None:
        """A failed attempt; the letter fails for the target only when no attempt follows (a letter once
        sent stays sent, whatever order the events arrive in)."""
        change: dict[str, Any] = {"reason": reason, "updated_at": now}
        if final:
            change["state"] = "failed"
        await self.db[LETTER_DELIVERIES].update_one(
            {"letter_id": letter_id, "target_id": target_id, "state": {"$ne": "sent"}},
            {"$set": change, "$inc": {"attempts_failed": 1}},
            session=session,
        )

    async def letter_deliveries(
        self, campaign_id: UUID, *, state: str | None, after: UUID | None, limit: int
    ) -> list[LetterDelivery]:
        query: dict[str, Any] = {"campaign_id": campaign_id}
        if state is not None:
            query["state"] = state
        if after is not None:
            query["_id"] = {"$gt": after}
        docs = await self.db[LETTER_DELIVERIES].find(query).sort("_id", ASCENDING).limit(limit).to_list()
        return [LetterDelivery.of(d) for d in docs]

    # petitions
    async def insert_petition_delivery(self, doc: Document, session: Session) -> None:
        await self.db[PETITION_DELIVERIES].insert_one(
            {**doc, "pdf": Binary(doc["pdf"]), "csv": Binary(doc["csv"])}, session=session
        )

    async def petition_delivery(
        self, delivery_id: UUID, *, with_files: bool = False, session: Session | None = None
    ) -> Document | None:
        projection = None if with_files else {"pdf": 0, "csv": 0}
        return await self.db[PETITION_DELIVERIES].find_one({"_id": delivery_id}, projection, session=session)

    async def petition_deliveries(
        self, campaign_id: UUID, *, after: UUID | None, limit: int
    ) -> list[Document]:
        query: dict[str, Any] = {"campaign_id": campaign_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.db[PETITION_DELIVERIES].find(query, {"pdf": 0, "csv": 0}).sort("_id", ASCENDING)
        return await cursor.limit(limit).to_list()

    async def set_petition_delivery(
        self, delivery_id: UUID, query: dict[str, Any], changes: dict[str, Any], session: Session
    ) -> Document | None:
        return await self.db[PETITION_DELIVERIES].find_one_and_update(
            {"_id": delivery_id, **query},
            {"$set": changes},
            projection={"pdf": 0, "csv": 0},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
