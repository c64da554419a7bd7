"""MongoDB persistence of the campaigns service.

Collections: campaigns; links (each taking-part organization's public action link: the owner's and
each adopter's); supporters (one per person and campaign, personal data lives only here); actions;
stories; seats (one document per place taken at an event with a capacity); stats (one counter
document per campaign, written only by the aggregator, a batch of actions at a time); idempotency
(first results of keyed requests, without secrets); and the coalition projection (coalitions,
memberships) fed by the coalition service's events.

The action path reads and writes typed models (`Link`, `Membership`, `Supporter`, `ActionRecord`,
`Stats`); their storage names are known only here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from campaigns.domain.campaigns import Campaign, CampaignStatus
from common.mongo import Database, Document, Indexes, Session

CAMPAIGNS = "campaigns"
LINKS = "links"
SUPPORTERS = "supporters"
ACTIONS = "actions"
STORIES = "stories"
STATS = "stats"
SEATS = "seats"
IDEMPOTENCY = "idempotency"
PENDING = "pending_actions"  # actions awaiting their supporter's e-mailed confirmation (double opt-in)
CONFIRMED_ADDRESSES = "confirmed_addresses"  # keyed hashes of addresses confirmed per organization
CHALLENGES = "used_challenges"  # solved proof-of-work challenges, each usable once
COALITIONS = "coalitions"  # projection of the coalition service's coalitions
MEMBERSHIPS = "memberships"  # projection of the coalition service's memberships

INDEXES = (
    Indexes(
        CAMPAIGNS,
        (
            IndexModel([("owner_org_id", ASCENDING), ("_id", ASCENDING)], name="by_owner"),
            IndexModel([("coalition_id", ASCENDING), ("_id", ASCENDING)], name="by_coalition"),
            IndexModel([("status", ASCENDING), ("launch_at", ASCENDING)], name="due_launch"),
            IndexModel([("status", ASCENDING), ("close_at", ASCENDING)], name="due_close"),
        ),
    ),
    Indexes(
        LINKS,
        (
            IndexModel([("campaign_id", ASCENDING), ("org_id", ASCENDING)], unique=True, name="campaign_org"),
            IndexModel([("org_id", ASCENDING), ("state", ASCENDING)], name="by_org"),
        ),
    ),
    Indexes(
        SUPPORTERS,
        (
            IndexModel(
                [("email_key", ASCENDING)],
                unique=True,
                partialFilterExpression={"email_key": {"$type": "string"}},
                name="email_key_unique",
            ),
            IndexModel(
                [("campaign_id", ASCENDING), ("org_id", ASCENDING), ("_id", ASCENDING)], name="by_org"
            ),
            IndexModel([("page_digests", ASCENDING)], name="by_page_token", sparse=True),
        ),
    ),
    Indexes(
        ACTIONS,
        (
            IndexModel(
                [("campaign_id", ASCENDING), ("kind", ASCENDING), ("supporter_id", ASCENDING)],
                unique=True,
                name="once_per_supporter_and_kind",
            ),
            IndexModel([("supporter_id", ASCENDING)], name="by_supporter"),
            IndexModel(
                [("created_at", ASCENDING)],
                name="uncounted",
                partialFilterExpression={"counted": False},
            ),
        ),
    ),
    Indexes(
        STORIES,
        (
            IndexModel([("campaign_id", ASCENDING), ("status", ASCENDING), ("_id", ASCENDING)], name="queue"),
            IndexModel([("supporter_id", ASCENDING)], name="by_supporter"),
        ),
    ),
    Indexes(
        IDEMPOTENCY,
        (
            IndexModel([("expires_at", ASCENDING)], name="ttl", expireAfterSeconds=0),
            IndexModel([("supporter_id", ASCENDING)], name="by_supporter", sparse=True),
        ),
    ),
    Indexes(
        PENDING,
        (
            IndexModel([("confirm_digest", ASCENDING)], unique=True, name="confirm_digest"),
            IndexModel(
                [("campaign_id", ASCENDING), ("kind", ASCENDING), ("email_key", ASCENDING)],
                unique=True,
                partialFilterExpression={"status": "pending"},
                name="one_pending_per_supporter_and_kind",
            ),
            IndexModel([("status", ASCENDING), ("expires_at", ASCENDING)], name="expiry"),
        ),
    ),
    Indexes(CHALLENGES, (IndexModel([("expires_at", ASCENDING)], name="ttl", expireAfterSeconds=0),)),
    Indexes(
        MEMBERSHIPS,
        (
            IndexModel(
                [("coalition_id", ASCENDING), ("org_id", ASCENDING)], unique=True, name="coalition_org"
            ),
        ),
    ),
)


@dataclass(frozen=True)
class Link:
    """An organization's public action link to a campaign (the owner's or an adopter's)."""

    ref: str
    campaign_id: UUID
    coalition_id: UUID | None
    org_id: UUID
    role: str
    state: str

    @classmethod
    def of(cls, doc: Document) -> Link:
        return cls(
            ref=doc["_id"],
            campaign_id=doc["campaign_id"],
            coalition_id=doc.get("coalition_id"),
            org_id=doc["org_id"],
            role=doc["role"],
            state=doc["state"],
        )


@dataclass(frozen=True)
class Membership:
    """An organization's membership in a coalition, as the coalition service's events tell it."""

    coalition_id: UUID
    org_id: UUID
    role: str
    state: str
    sharing_level: str | None = None

    def is_active(self, roles: Iterable[str]) -> bool:
        return self.state == "active" and self.role in roles


@dataclass(frozen=True)
class Supporter:
    """One person's record for one campaign; personal data lives only here."""

    id: UUID
    campaign_id: UUID
    org_id: UUID
    email: str | None
    first_name: str | None
    last_name: str | None
    consents: dict[str, dict[str, Any]]
    erased: bool = False

    @classmethod
    def of(cls, doc: Document) -> Supporter:
        return cls(
            id=doc["_id"],
            campaign_id=doc["campaign_id"],
            org_id=doc["org_id"],
            email=doc.get("email"),
            first_name=doc.get("first_name"),
            last_name=doc.get("last_name"),
            consents=doc.get("consents", {}),
            erased=doc.get("erased_at") is not None,
        )


@dataclass(frozen=True)
class ActionRecord:
    """A supporter's action; `counted` once the aggregator has added it to the campaign's totals."""

    id: UUID
    campaign_id: UUID
    kind: str
    supporter_id: UUID
    org_id: UUID
    link: str
    details: dict[str, Any]
    created_at: datetime
    counted: bool = False
    language: str | None = None  # the language of the page the supporter acted on

    @classmethod
    def of(cls, doc: Document) -> ActionRecord:
        return cls(
            id=doc["_id"],
            campaign_id=doc["campaign_id"],
            kind=doc["kind"],
            supporter_id=doc["supporter_id"],
            org_id=doc["org_id"],
            link=doc["link"],
            details=doc.get("details", {}),
            created_at=doc["created_at"],
            counted=doc.get("counted", True),  # actions from before the aggregator were counted inline
            language=doc.get("language"),
        )

    def document(self) -> Document:
        return {
            "_id": self.id,
            "campaign_id": self.campaign_id,
            "kind": self.kind,
            "supporter_id": self.supporter_id,
            "org_id": self.org_id,
            "link": self.link,
            "details": self.details,
            "created_at": self.created_at,
            "counted": self.counted,
            "language": self.language,
        }


@dataclass(frozen=True)
class Stats:
    """A campaign's totals as the aggregator last wrote them."""

    counts: dict[str, int] = field(default_factory=dict)
    by_org: dict[str, dict[str, int]] = field(default_factory=dict)
    daily: dict[str, dict[str, int]] = field(default_factory=dict)
    unique_supporters: int = 0
    supporters_by_org: dict[str, int] = field(default_factory=dict)
    milestones: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, doc: Document) -> Stats:
        return cls(
            counts=doc.get("counts", {}),
            by_org=doc.get("by_org", {}),
            daily=doc.get("daily", {}),
            unique_supporters=doc.get("unique_supporters", 0),
            supporters_by_org=doc.get("supporters_by_org", {}),
            milestones=doc.get("milestones", []),
        )


def _campaign(doc: Document) -> Campaign:
    return Campaign.model_validate({**doc, "id": doc["_id"]})


class CampaignRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # campaigns
    async def insert_campaign(self, campaign: Campaign, session: Session) -> None:
        doc = campaign.model_dump(mode="python", exclude={"id"})
        await self.db[CAMPAIGNS].insert_one({"_id": campaign.id, **doc}, session=session)
        await self.db[STATS].insert_one(
            {
                "_id": campaign.id,
                "counts": {},
                "by_org": {},
                "daily": {},
                "unique_supporters": 0,
                "supporters_by_org": {},
                "milestones": [],
            },
            session=session,
        )

    async def get_campaign(self, campaign_id: UUID, session: Session | None = None) -> Campaign | None:
        doc = await self.db[CAMPAIGNS].find_one({"_id": campaign_id}, session=session)
        return _campaign(doc) if doc else None

    async def update_campaign(self, campaign_id: UUID, changes: dict[str, Any], session: Session) -> Campaign:
        doc = await self.db[CAMPAIGNS].find_one_and_update(
            {"_id": campaign_id}, {"$set": changes}, return_document=ReturnDocument.AFTER, session=session
        )
        assert doc is not None
        return _campaign(doc)

    async def set_status(
        self, campaign_id: UUID, expected: CampaignStatus, changes: dict[str, Any], session: Session
    ) -> Campaign | None:
        """Move the campaign on only if it is still in `expected` (None when something else moved it)."""
        doc = await self.db[CAMPAIGNS].find_one_and_update(
            {"_id": campaign_id, "status": expected.value},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return _campaign(doc) if doc else None

    async def campaigns_for(
        self, *, org_ids: list[UUID], coalition_ids: list[UUID], after: UUID | None, limit: int
    ) -> list[Campaign]:
        query: dict[str, Any] = {
            "$or": [{"owner_org_id": {"$in": org_ids}}, {"coalition_id": {"$in": coalition_ids}}]
        }
        if after is not None:
            query["_id"] = {"$gt": after}
        docs = await self.db[CAMPAIGNS].find(query).sort("_id", ASCENDING).limit(limit).to_list()
        return [_campaign(d) for d in docs]

    async def due_campaigns(self, now: datetime, limit: int = 200) -> list[Campaign]:
        query = {
            "$or": [
                {"status": CampaignStatus.DRAFT.value, "launch_at": {"$lte": now}},
                {
                    "status": {"$in": [CampaignStatus.ACTIVE.value, CampaignStatus.PAUSED.value]},
                    "close_at": {"$lte": now},
                },
            ]
        }
        return [_campaign(d) for d in await self.db[CAMPAIGNS].find(query).limit(limit).to_list()]

    # links (owner and adopters)
    async def insert_link(self, doc: Document, session: Session) -> None:
        await self.db[LINKS].insert_one(doc, session=session)

    async def get_link(self, ref: str, session: Session | None = None) -> Document | None:
        return await self.db[LINKS].find_one({"_id": ref}, session=session)

    async def link(self, ref: str) -> Link | None:
        doc = await self.db[LINKS].find_one({"_id": ref})
        return Link.of(doc) if doc else None

    async def link_of(
        self, campaign_id: UUID, org_id: UUID, session: Session | None = None
    ) -> Document | None:
        return await self.db[LINKS].find_one({"campaign_id": campaign_id, "org_id": org_id}, session=session)

    async def links_of_campaign(self, campaign_id: UUID, session: Session | None = None) -> list[Document]:
        cursor = self.db[LINKS].find({"campaign_id": campaign_id}, session=session)
        return await cursor.sort("created_at", ASCENDING).to_list()

    async def set_link(self, ref: str, changes: dict[str, Any], session: Session) -> Document:
        doc = await self.db[LINKS].find_one_and_update(
            {"_id": ref}, {"$set": changes}, return_document=ReturnDocument.AFTER, session=session
        )
        assert doc is not None
        return doc

    async def adopted_campaign_ids(self, org_id: UUID) -> list[UUID]:
        docs = await self.db[LINKS].find({"org_id": org_id, "role": "adopter"}, {"campaign_id": 1}).to_list()
        return [d["campaign_id"] for d in docs]

    async def active_adopter_links(
        self, coalition_id: UUID, org_id: UUID, session: Session
    ) -> list[Document]:
        return await (
            self.db[LINKS]
            .find(
                {"coalition_id": coalition_id, "org_id": org_id, "role": "adopter", "state": "active"},
                session=session,
            )
            .to_list()
        )

    # supporters, actions, seats (the action path)
    async def supporter_by_email_key(self, email_key: str, session: Session) -> Supporter | None:
        doc = await self.db[SUPPORTERS].find_one({"email_key": email_key}, session=session)
        return Supporter.of(doc) if doc else None

    async def get_supporter(self, supporter_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[SUPPORTERS].find_one({"_id": supporter_id}, session=session)

    async def insert_supporter(self, doc: Document, session: Session) -> Supporter:
        await self.db[SUPPORTERS].insert_one({**doc, "counted": False}, session=session)
        return Supporter.of(doc)

    async def grant_consents(
        self, supporter_id: UUID, grants: dict[str, Document], log: list[Document], session: Session
    ) -> Supporter:
        doc = await self.db[SUPPORTERS].find_one_and_update(
            {"_id": supporter_id},
            {
                "$set": {f"consents.{purpose}": grant for purpose, grant in grants.items()},
                "$push": {"consent_log": {"$each": log}},
            },
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert doc is not None
        return Supporter.of(doc)

    async def update_supporter(
        self, supporter_id: UUID, update: dict[str, Any], session: Session
    ) -> Document:
        doc = await self.db[SUPPORTERS].find_one_and_update(
            {"_id": supporter_id}, update, return_document=ReturnDocument.AFTER, session=session
        )
        assert doc is not None
        return doc

    async def supporters_of(
        self, campaign_id: UUID, query: dict[str, Any], *, after: UUID | None = None, limit: int = 0
    ) -> list[Document]:
        full: dict[str, Any] = {"campaign_id": campaign_id, "erased_at": None, **query}
        if after is not None:
            full["_id"] = {"$gt": after}
        return await self.db[SUPPORTERS].find(full).sort("_id", ASCENDING).limit(limit).to_list()

    async def find_action(
        self, campaign_id: UUID, kind: str, supporter_id: UUID, session: Session
    ) -> ActionRecord | None:
        doc = await self.db[ACTIONS].find_one(
            {"campaign_id": campaign_id, "kind": kind, "supporter_id": supporter_id}, session=session
        )
        return ActionRecord.of(doc) if doc else None

    async def insert_action(self, action: ActionRecord, session: Session) -> None:
        await self.db[ACTIONS].insert_one(action.document(), session=session)

    async def take_seat(self, campaign_id: UUID, capacity: int, session: Session) -> bool:
        """Take the next free place at an event; False when all `capacity` places are taken.

        Each place is its own document (`campaign:n`): two transactions that take the same place
        conflict and one retries with the next, so the capacity holds without a shared counter.
        """
        taken = await self.db[SEATS].count_documents({"campaign_id": campaign_id}, session=session)
        if taken >= capacity:
            return False
        await self.db[SEATS].insert_one(
            {"_id": f"{campaign_id}:{taken}", "campaign_id": campaign_id}, session=session
        )
        return True

    async def insert_story(self, doc: Document, session: Session) -> None:
        await self.db[STORIES].insert_one(doc, session=session)

    async def get_story(self, story_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[STORIES].find_one({"_id": story_id}, session=session)

    async def set_story(
        self, story_id: UUID, expected: list[str], changes: dict[str, Any], session: Session
    ) -> Document | None:
        return await self.db[STORIES].find_one_and_update(
            {"_id": story_id, "status": {"$in": expected}},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def stories_of(
        self, campaign_id: UUID, statuses: list[str], *, after: UUID | None, limit: int
    ) -> list[Document]:
        query: dict[str, Any] = {"campaign_id": campaign_id, "status": {"$in": statuses}}
        if after is not None:
            query["_id"] = {"$gt": after}
        return await self.db[STORIES].find(query).sort("_id", ASCENDING).limit(limit).to_list()

    async def erase_supporter(self, supporter_id: UUID, now: datetime, session: Session) -> None:
        """Remove every personal field of the supporter, their actions and stories; counts are kept."""
        await self.db[SUPPORTERS].update_one(
            {"_id": supporter_id},
            {
                "$set": {"erased_at": now, "email_key": None, "consents": {}},
                "$unset": {"email": "", "first_name": "", "last_name": "", "postal_code": "", "country": ""},
            },
            session=session,
        )
        await self.db[ACTIONS].update_many(
            {"supporter_id": supporter_id}, {"$set": {"details": {}, "erased": True}}, session=session
        )
        await self.db[STORIES].update_many(
            {"supporter_id": supporter_id},
            {
                "$set": {"status": "erased", "title": "", "body": "", "display_name": None, "erased_at": now},
            },
            session=session,
        )

    async def withdraw_publication(self, supporter_id: UUID, now: datetime, session: Session) -> None:
        await self.db[STORIES].update_many(
            {"supporter_id": supporter_id, "status": {"$in": ["submitted", "approved", "published"]}},
            {"$set": {"status": "withdrawn", "withdrawn_at": now}},
            session=session,
        )

    # pending actions (double opt-in) and confirmed addresses
    async def insert_pending(self, doc: Document, session: Session) -> None:
        await self.db[PENDING].insert_one(doc, session=session)

    async def pending_of(
        self, campaign_id: UUID, kind: str, email_key: str, session: Session
    ) -> Document | None:
        return await self.db[PENDING].find_one(
            {"campaign_id": campaign_id, "kind": kind, "email_key": email_key, "status": "pending"},
            session=session,
        )

    async def pending_by_digest(self, digest: str, session: Session | None = None) -> Document | None:
        return await self.db[PENDING].find_one({"confirm_digest": digest}, session=session)

    async def delete_pending(self, pending_id: UUID, session: Session) -> None:
        await self.db[PENDING].delete_one({"_id": pending_id}, session=session)

    async def close_pending(self, pending_id: UUID, changes: Document, session: Session) -> bool:
        """Mark a pending action confirmed and drop its personal data; False if it was not pending."""
        result = await self.db[PENDING].update_one(
            {"_id": pending_id, "status": "pending"},
            {
                "$set": {"status": "confirmed", **changes},
                "$unset": {"supporter": "", "details": "", "story": "", "consents": "", "email_key": ""},
            },
            session=session,
        )
        return result.modified_count == 1

    async def erase_expired_pending(self, now: datetime) -> int:
        """Erase pending actions whose confirmation expired, and confirmed ones' records past their time."""
        expired = await self.db[PENDING].delete_many({"status": "pending", "expires_at": {"$lte": now}})
        spent = await self.db[PENDING].delete_many({"status": "confirmed", "forget_at": {"$lte": now}})
        return expired.deleted_count + spent.deleted_count

    async def address_confirmed(self, key: str, session: Session | None = None) -> bool:
        return await self.db[CONFIRMED_ADDRESSES].find_one({"_id": key}, session=session) is not None

    async def confirm_address(self, key: str, org_id: UUID, now: datetime, session: Session) -> None:
        await self.db[CONFIRMED_ADDRESSES].update_one(
            {"_id": key},
            {"$setOnInsert": {"org_id": org_id, "confirmed_at": now}},
            upsert=True,
            session=session,
        )

    async def forget_address(self, key: str, session: Session) -> None:
        await self.db[CONFIRMED_ADDRESSES].delete_one({"_id": key}, session=session)

    async def supporter_by_page_digest(self, digest: str) -> Document | None:
        return await self.db[SUPPORTERS].find_one({"page_digests": digest})

    async def add_page_digest(self, supporter_id: UUID, digest: str, session: Session) -> None:
        await self.db[SUPPORTERS].update_one(
            {"_id": supporter_id}, {"$addToSet": {"page_digests": digest}}, session=session
        )

    # proof-of-work challenges
    async def spend_challenge(self, key: str, expires_at: datetime) -> bool:
        """Record a solved challenge as used; False when it was used before (a replay)."""
        try:
            await self.db[CHALLENGES].insert_one({"_id": key, "expires_at": expires_at})
        except DuplicateKeyError:
            return False
        return True

    # statistics (written by the aggregator only)
    async def get_stats(self, campaign_id: UUID, session: Session | None = None) -> Document:
        doc = await self.db[STATS].find_one({"_id": campaign_id}, session=session)
        assert doc is not None
        return doc

    async def uncounted(self, action_ids: list[UUID], session: Session) -> list[ActionRecord]:
        docs = self.db[ACTIONS].find({"_id": {"$in": action_ids}, "counted": False}, session=session)
        return [ActionRecord.of(d) for d in await docs.to_list()]

    async def mark_counted(self, action_ids: list[UUID], session: Session) -> None:
        await self.db[ACTIONS].update_many(
            {"_id": {"$in": action_ids}}, {"$set": {"counted": True}}, session=session
        )

    async def first_counted_supporters(self, supporter_ids: list[UUID], session: Session) -> list[UUID]:
        """Of these supporters, those not counted yet, now marked counted (each counts once)."""
        docs = self.db[SUPPORTERS].find(
            {"_id": {"$in": supporter_ids}, "counted": False}, {"_id": 1}, session=session
        )
        fresh = [d["_id"] for d in await docs.to_list()]
        if fresh:
            await self.db[SUPPORTERS].update_many(
                {"_id": {"$in": fresh}}, {"$set": {"counted": True}}, session=session
            )
        return fresh

    async def add_to_stats(self, campaign_id: UUID, inc: dict[str, int], session: Session) -> Stats:
        doc = await self.db[STATS].find_one_and_update(
            {"_id": campaign_id}, {"$inc": inc}, return_document=ReturnDocument.AFTER, session=session
        )
        assert doc is not None
        return Stats.of(doc)

    async def add_milestones(self, campaign_id: UUID, reached: list[Document], session: Session) -> None:
        await self.db[STATS].update_one(
            {"_id": campaign_id}, {"$push": {"milestones": {"$each": reached}}}, session=session
        )

    async def uncounted_since(self, before: datetime, limit: int) -> dict[UUID, list[UUID]]:
        """Actions recorded before `before` that are not counted yet, by campaign (the sweeper's work)."""
        cursor = (
            self.db[ACTIONS]
            .find({"counted": False, "created_at": {"$lt": before}}, {"campaign_id": 1})
            .limit(limit)
        )
        found: dict[UUID, list[UUID]] = {}
        async for doc in cursor:
            found.setdefault(doc["campaign_id"], []).append(doc["_id"])
        return found

    async def uncounted_of_campaign(self, campaign_id: UUID) -> int:
        return await self.db[ACTIONS].count_documents({"campaign_id": campaign_id, "counted": False})

    # idempotency
    async def get_idempotent(self, key: str, session: Session | None = None) -> Document | None:
        return await self.db[IDEMPOTENCY].find_one({"_id": key}, session=session)

    async def delete_idempotent(self, key: str, session: Session) -> None:
        await self.db[IDEMPOTENCY].delete_one({"_id": key}, session=session)

    async def save_idempotent(self, doc: Document, session: Session) -> None:
        await self.db[IDEMPOTENCY].insert_one(doc, session=session)

    async def forget_idempotent_of(self, supporter_id: UUID, session: Session) -> None:
        """Drop the stored results of a supporter's keyed requests (they name the supporter)."""
        await self.db[IDEMPOTENCY].delete_many({"supporter_id": supporter_id}, session=session)

    # coalition projection
    async def upsert_coalition(self, coalition_id: UUID, fields: dict[str, Any], session: Session) -> None:
        await self.db[COALITIONS].update_one(
            {"_id": coalition_id}, {"$set": fields}, upsert=True, session=session
        )

    async def ensure_coalition(self, coalition_id: UUID, session: Session) -> None:
        """Know the coalition exists (its own events may come later: they are on another topic)."""
        await self.db[COALITIONS].update_one(
            {"_id": coalition_id}, {"$setOnInsert": {"status": "active"}}, upsert=True, session=session
        )

    async def get_coalition(self, coalition_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[COALITIONS].find_one({"_id": coalition_id}, session=session)

    async def upsert_membership(self, doc: Document, session: Session) -> None:
        await self.db[MEMBERSHIPS].replace_one(
            {"coalition_id": doc["coalition_id"], "org_id": doc["org_id"]}, doc, upsert=True, session=session
        )

    async def get_membership(
        self, coalition_id: UUID, org_id: UUID, session: Session | None = None
    ) -> Document | None:
        return await self.db[MEMBERSHIPS].find_one(
            {"coalition_id": coalition_id, "org_id": org_id}, session=session
        )

    async def membership(self, coalition_id: UUID, org_id: UUID) -> Membership | None:
        doc = await self.db[MEMBERSHIPS].find_one({"coalition_id": coalition_id, "org_id": org_id})
        if doc is None:
            return None
        return Membership(
            coalition_id=coalition_id,
            org_id=org_id,
            role=doc["role"],
            state=doc["state"],
            sharing_level=doc.get("sharing_level"),
        )

    async def memberships_of_orgs(self, org_ids: list[UUID]) -> list[Document]:
        return await self.db[MEMBERSHIPS].find({"org_id": {"$in": org_ids}}).to_list()

    async def memberships_of_coalition(self, coalition_id: UUID) -> list[Document]:
        return await self.db[MEMBERSHIPS].find({"coalition_id": coalition_id}).to_list()
