"""MongoDB persistence of the campaigns service.

Collections: campaigns; links (each taking-part organization's public action link: the owner's and
each adopter's); supporters (one per person and campaign, personal data lives only here); actions;
stories; stats (one counter document per campaign, changed in the same transaction as each action, so
totals stay exact); idempotency (first results of keyed requests); and the coalition projection
(coalitions, memberships) fed by the coalition service's events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, IndexModel, ReturnDocument

from campaigns.domain.campaigns import Campaign, CampaignStatus
from common.mongo import Database, Document, Indexes, Session

CAMPAIGNS = "campaigns"
LINKS = "links"
SUPPORTERS = "supporters"
ACTIONS = "actions"
STORIES = "stories"
STATS = "stats"
IDEMPOTENCY = "idempotency"
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
        (IndexModel([("expires_at", ASCENDING)], name="ttl", expireAfterSeconds=0),),
    ),
    Indexes(
        MEMBERSHIPS,
        (
            IndexModel(
                [("coalition_id", ASCENDING), ("org_id", ASCENDING)], unique=True, name="coalition_org"
            ),
        ),
    ),
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

    # supporters, actions, stories
    async def supporter_by_email_key(self, email_key: str, session: Session) -> Document | None:
        return await self.db[SUPPORTERS].find_one({"email_key": email_key}, session=session)

    async def get_supporter(self, supporter_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[SUPPORTERS].find_one({"_id": supporter_id}, session=session)

    async def insert_supporter(self, doc: Document, session: Session) -> None:
        await self.db[SUPPORTERS].insert_one(doc, session=session)

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
    ) -> Document | None:
        return await self.db[ACTIONS].find_one(
            {"campaign_id": campaign_id, "kind": kind, "supporter_id": supporter_id}, session=session
        )

    async def insert_action(self, doc: Document, session: Session) -> None:
        await self.db[ACTIONS].insert_one(doc, session=session)

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

    # statistics
    async def get_stats(self, campaign_id: UUID, session: Session | None = None) -> Document:
        doc = await self.db[STATS].find_one({"_id": campaign_id}, session=session)
        assert doc is not None
        return doc

    async def count_action(self, campaign_id: UUID, inc: dict[str, int], session: Session) -> Document:
        doc = await self.db[STATS].find_one_and_update(
            {"_id": campaign_id}, {"$inc": inc}, return_document=ReturnDocument.AFTER, session=session
        )
        assert doc is not None
        return doc

    async def add_milestones(self, campaign_id: UUID, reached: list[Document], session: Session) -> None:
        await self.db[STATS].update_one(
            {"_id": campaign_id}, {"$push": {"milestones": {"$each": reached}}}, session=session
        )

    # idempotency
    async def get_idempotent(self, key: str, session: Session | None = None) -> Document | None:
        return await self.db[IDEMPOTENCY].find_one({"_id": key}, session=session)

    async def delete_idempotent(self, key: str, session: Session) -> None:
        await self.db[IDEMPOTENCY].delete_one({"_id": key}, session=session)

    async def save_idempotent(self, doc: Document, session: Session) -> None:
        await self.db[IDEMPOTENCY].insert_one(doc, session=session)

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

    async def memberships_of_orgs(self, org_ids: list[UUID]) -> list[Document]:
        return await self.db[MEMBERSHIPS].find({"org_id": {"$in": org_ids}}).to_list()

    async def memberships_of_coalition(self, coalition_id: UUID) -> list[Document]:
        return await self.db[MEMBERSHIPS].find({"coalition_id": coalition_id}).to_list()
