"""MongoDB persistence: endpoints, messages and attempts, notices, e-mails, preferences, projections."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne

from common.mongo import Database, Document, Indexes, Session
from notifications.wakeup import note_queued

ENDPOINTS = "endpoints"
MESSAGES = "messages"
ATTEMPTS = "attempts"
NOTICES = "notices"
EMAILS = "emails"
PREFERENCES = "preferences"
# mail to decision-makers: one queued item per (letter or petition delivery, target), and what was sent
OUTGOING = "outgoing_mail"
SENT_MESSAGES = "sent_messages"
ERASED_SUPPORTERS = "erased_supporters"
# notices to organizations (users) the projections below did not know yet, kept until they are learned
DEFERRED_NOTICES = "deferred_notices"
# A deferred notice whose organization or user is never learned (an id that never gets a member, a
# user who never registers) expires after a week, and so does one kept for later admins (see 0016).
DEFERRED_NOTICE_TTL = timedelta(days=7)
# projections of other services' data
USERS = "users"
ORGANIZATIONS = "organizations"
ORG_MEMBERS = "org_members"
COALITIONS = "coalitions"
COALITION_MEMBERS = "coalition_members"
CAMPAIGNS = "campaigns"

INDEXES = (
    Indexes(ENDPOINTS, (IndexModel([("org_id", ASCENDING), ("_id", ASCENDING)], name="by_org"),)),
    Indexes(
        MESSAGES,
        (
            IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),
            IndexModel([("endpoint_id", ASCENDING), ("_id", DESCENDING)], name="by_endpoint"),
            IndexModel(
                [("endpoint_id", ASCENDING), ("event_id", ASCENDING)], unique=True, name="one_per_event"
            ),
            IndexModel([("supporter_id", ASCENDING)], name="by_supporter", sparse=True),
            IndexModel([("expires_at", ASCENDING)], name="retention_ttl", expireAfterSeconds=0),
        ),
    ),
    Indexes(
        ATTEMPTS,
        (
            IndexModel([("message_id", ASCENDING), ("at", ASCENDING)], name="by_message"),
            IndexModel([("endpoint_id", ASCENDING), ("at", DESCENDING)], name="by_endpoint"),
            IndexModel([("expires_at", ASCENDING)], name="retention_ttl", expireAfterSeconds=0),
        ),
    ),
    Indexes(
        NOTICES,
        (
            IndexModel([("user_id", ASCENDING), ("_id", DESCENDING)], name="feed"),
            IndexModel([("user_id", ASCENDING), ("read_at", ASCENDING)], name="unread"),
        ),
    ),
    Indexes(EMAILS, (IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),)),
    Indexes(
        DEFERRED_NOTICES,
        (
            IndexModel([("org_id", ASCENDING)], name="by_org", sparse=True),
            IndexModel([("user_id", ASCENDING)], name="by_user", sparse=True),
            IndexModel(
                [("created_at", ASCENDING)],
                name="expiry_ttl",
                expireAfterSeconds=int(DEFERRED_NOTICE_TTL.total_seconds()),
            ),
        ),
    ),
    Indexes(
        OUTGOING,
        (
            IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),
            # Exactly one queued mail per letter (or petition delivery) and target, whatever redelivers it.
            IndexModel(
                [("kind", ASCENDING), ("item_id", ASCENDING), ("target.target_id", ASCENDING)],
                unique=True,
                name="one_per_target",
            ),
            IndexModel([("digest_key", ASCENDING), ("status", ASCENDING)], name="open_digest", sparse=True),
            IndexModel([("supporter_id", ASCENDING)], name="by_supporter", sparse=True),
        ),
    ),
    Indexes(
        SENT_MESSAGES,
        (
            IndexModel(
                [("organization_id", ASCENDING), ("campaign_id", ASCENDING), ("_id", DESCENDING)],
                name="by_org_campaign",
            ),
            IndexModel([("campaign_id", ASCENDING)], name="by_campaign"),
            IndexModel([("supporter_ids", ASCENDING)], name="by_supporter"),
            IndexModel([("expires_at", ASCENDING)], name="retention_ttl", expireAfterSeconds=0),
        ),
    ),
    Indexes(USERS, (IndexModel([("email", ASCENDING)], name="by_email"),)),
    Indexes(
        ORG_MEMBERS,
        (IndexModel([("org_id", ASCENDING), ("user_id", ASCENDING)], unique=True, name="org_user"),),
    ),
    Indexes(
        COALITION_MEMBERS,
        (
            IndexModel(
                [("coalition_id", ASCENDING), ("org_id", ASCENDING)], unique=True, name="coalition_org"
            ),
        ),
    ),
)


class Repository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- endpoints --------------------------------------------------------------------------------
    async def insert_endpoint(self, doc: Document, session: Session | None = None) -> None:
        await self.db[ENDPOINTS].insert_one(doc, session=session)

    async def get_endpoint(self, endpoint_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[ENDPOINTS].find_one({"_id": endpoint_id}, session=session)

    async def update_endpoint(
        self, endpoint_id: UUID, update: dict[str, Any], session: Session | None = None
    ) -> Document | None:
        return await self.db[ENDPOINTS].find_one_and_update(
            {"_id": endpoint_id}, update, return_document=ReturnDocument.AFTER, session=session
        )

    async def note_outcome(
        self, endpoint_id: UUID, *, succeeded: bool, now: datetime, session: Session
    ) -> None:
        """Keep an endpoint's `last_success_at` (to the second) and `failing_since` current.

        Writes only when they change: every attempt to a busy endpoint writing its document would make
        concurrent attempts' transactions conflict on it (MongoDB aborts all but one).
        """
        if succeeded:
            query: dict[str, Any] = {
                "_id": endpoint_id,
                "$or": [
                    {"failing_since": {"$ne": None}},
                    {"last_success_at": None},
                    {"last_success_at": {"$lt": now - timedelta(seconds=1)}},
                ],
            }
            update = {"$set": {"last_success_at": now, "failing_since": None}}
        else:
            query = {"_id": endpoint_id, "failing_since": None}
            update = {"$set": {"failing_since": now}}
        await self.db[ENDPOINTS].update_one(query, update, session=session)

    async def delete_endpoint(self, endpoint_id: UUID, session: Session) -> None:
        await self.db[ENDPOINTS].delete_one({"_id": endpoint_id}, session=session)
        await self.db[MESSAGES].delete_many({"endpoint_id": endpoint_id}, session=session)
        await self.db[ATTEMPTS].delete_many({"endpoint_id": endpoint_id}, session=session)

    async def endpoints_of_org(self, org_id: UUID, *, after: UUID | None, limit: int) -> list[Document]:
        query: dict[str, Any] = {"org_id": org_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        return await self.db[ENDPOINTS].find(query).sort("_id", ASCENDING).limit(limit).to_list()

    async def enabled_endpoints_of(self, org_ids: list[UUID], session: Session) -> list[Document]:
        return (
            await self.db[ENDPOINTS]
            .find({"org_id": {"$in": org_ids}, "enabled": True}, session=session)
            .to_list()
        )

    async def endpoints_created_by(
        self, org_id: UUID, creator_kind: str, creator: str, session: Session
    ) -> list[Document]:
        """The organization's endpoints this user or client created and that are not under review yet."""
        query: dict[str, Any] = {"org_id": org_id, "created_by": creator, "review": None}
        # Endpoints recorded before the creator's kind was stored are told apart by the client id's prefix.
        query["$or"] = [
            {"created_by_kind": creator_kind},
            {
                "created_by_kind": None,
                "created_by": {"$regex": "^cli_"}
                if creator_kind == "client"
                else {"$not": {"$regex": "^cli_"}},
            },
        ]
        return await self.db[ENDPOINTS].find(query, session=session).to_list()

    async def put_under_review(
        self, endpoint_ids: list[UUID], review: dict[str, Any], session: Session
    ) -> None:
        """Flag the endpoints and hold their undelivered messages until an admin confirms them."""
        await self.db[ENDPOINTS].update_many(
            {"_id": {"$in": endpoint_ids}}, {"$set": {"review": review}}, session=session
        )
        await self.db[MESSAGES].update_many(
            {"endpoint_id": {"$in": endpoint_ids}, "status": "pending"},
            {"$set": {"paused": True}},
            session=session,
        )

    async def clear_review(
        self, endpoint_id: UUID, confirmed: dict[str, Any], session: Session
    ) -> Document | None:
        """Lift the review: the endpoint's held messages are due again at once."""
        updated = await self.db[ENDPOINTS].find_one_and_update(
            {"_id": endpoint_id},
            {"$set": {"review": None, "confirmed": confirmed, "updated_at": confirmed["at"]}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        await self.db[MESSAGES].update_many(
            {"endpoint_id": endpoint_id, "paused": True},
            {"$unset": {"paused": ""}, "$set": {"next_attempt_at": confirmed["at"]}},
            session=session,
        )
        return updated

    async def endpoints_by_id(self, endpoint_ids: Collection[UUID]) -> dict[UUID, Document]:
        docs = await self.db[ENDPOINTS].find({"_id": {"$in": list(endpoint_ids)}}).to_list()
        return {d["_id"]: d for d in docs}

    async def reserve_send_slots(
        self, endpoint_id: UUID, *, now: datetime, interval_ms: int, count: int, horizon: timedelta
    ) -> tuple[datetime | None, datetime]:
        """Reserve `count` consecutive request slots `interval_ms` apart on the endpoint, shared by replicas.

        Returns the first slot (None when the endpoint's slots are taken beyond `horizon` from now) and
        when the slot after the reserved ones (or, refused, the next free one) begins.
        """
        before = await self.db[ENDPOINTS].find_one_and_update(
            {"_id": endpoint_id, "$or": [{"next_slot_at": None}, {"next_slot_at": {"$lte": now + horizon}}]},
            [
                {
                    "$set": {
                        "next_slot_at": {
                            "$add": [
                                {"$max": [{"$ifNull": ["$next_slot_at", now]}, now]},
                                interval_ms * count,
                            ]
                        }
                    }
                }
            ],
            projection={"next_slot_at": 1},
            return_document=ReturnDocument.BEFORE,
        )
        if before is not None:
            first = max(before.get("next_slot_at") or now, now)
            return first, first + timedelta(milliseconds=interval_ms * count)
        current = await self.db[ENDPOINTS].find_one({"_id": endpoint_id}, {"next_slot_at": 1})
        return None, (current or {}).get("next_slot_at") or now

    # ---- messages and attempts --------------------------------------------------------------------
    async def insert_messages(self, docs: list[Document], session: Session) -> None:
        if docs:
            await self.db[MESSAGES].insert_many(docs, session=session)
            note_queued(MESSAGES)

    async def get_message(self, message_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[MESSAGES].find_one({"_id": message_id}, session=session)

    async def claim_due(
        self,
        collection: str,
        *,
        now: datetime,
        lease_until: datetime,
        owner: str,
        limit: int,
        held: Collection[UUID] = (),
        group_by: str | None = None,
        group_cap: int = 0,
        group_load: Counter[Any] | None = None,
    ) -> list[Document]:
        """Lease up to `limit` due pending items of a queue (`messages`, `emails`) to `owner`, oldest first.

        One read picks candidates, one update_many leases those still free (it re-checks each document,
        so of two replicas claiming the same item exactly one gets it), one read returns what was won.
        `held` are items this owner is still working on (never claimed twice, even if their lease ran
        out); with `group_by`, at most `group_cap` items per group count against `group_load` (items
        already in progress per group, e.g. per endpoint).
        """
        due: dict[str, Any] = {
            "status": "pending",
            "next_attempt_at": {"$lte": now},
            "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
            # Messages of an endpoint under review wait until an admin confirms it (decision 0012).
            "paused": {"$ne": True},
        }
        query = dict(due)
        if held:
            query["_id"] = {"$nin": list(held)}
        load: Counter[Any] = Counter(group_load or {})
        if group_by is not None:
            full = [group for group, n in load.items() if n >= group_cap]
            if full:
                query[group_by] = {"$nin": full}
        projection = {"_id": 1, group_by: 1} if group_by else {"_id": 1}
        candidates = (
            await self.db[collection]
            .find(query, projection)
            .sort("next_attempt_at", ASCENDING)
            .limit(limit * 4)
            .to_list()
        )
        chosen: list[UUID] = []
        for candidate in candidates:
            if group_by is not None:
                group = candidate.get(group_by)
                if load[group] >= group_cap:
                    continue
                load[group] += 1
            chosen.append(candidate["_id"])
            if len(chosen) >= limit:
                break
        if not chosen:
            return []
        await self.db[collection].update_many(
            {**due, "_id": {"$in": chosen}}, {"$set": {"lease_until": lease_until, "lease_owner": owner}}
        )
        won = {"_id": {"$in": chosen}, "lease_owner": owner, "lease_until": lease_until}
        return await self.db[collection].find(won).sort("next_attempt_at", ASCENDING).to_list()

    async def next_scheduled(self, collection: str, now: datetime) -> datetime | None:
        """When the earliest pending item of a queue that is not due yet becomes due."""
        doc = await self.db[collection].find_one(
            {"status": "pending", "next_attempt_at": {"$gt": now}},
            {"next_attempt_at": 1},
            sort=[("next_attempt_at", ASCENDING)],
        )
        return None if doc is None else doc["next_attempt_at"]

    async def seconds_until_due(self, collection: str, now: datetime, *, poll: float) -> float:
        """How long a queue's worker may sleep: until its next scheduled item, at most `poll`.

        `now` is the time its pass claimed at: an item that fell due since then is found, and the worker
        sleeps at most the pass's own duration too long.
        """
        scheduled = await self.next_scheduled(collection, now)
        if scheduled is None:
            return poll
        return min(poll, max(0.0, (scheduled - now).total_seconds()))

    async def release(
        self, ids: UUID | list[UUID], owner: str, next_attempt_at: datetime, *, collection: str = MESSAGES
    ) -> None:
        """Hand leased items back unattempted, due again at `next_attempt_at`."""
        await self.db[collection].update_many(
            {"_id": {"$in": ids if isinstance(ids, list) else [ids]}, "lease_owner": owner},
            {"$set": {"lease_until": None, "lease_owner": None, "next_attempt_at": next_attempt_at}},
        )

    async def finish_attempt(
        self, message_id: UUID, owner: str, changes: dict[str, Any], session: Session
    ) -> bool:
        """Record the outcome of an attempt, if `owner` still holds the lease."""
        result = await self.db[MESSAGES].update_one(
            {"_id": message_id, "lease_owner": owner, "status": "pending"},
            {"$set": {**changes, "lease_until": None, "lease_owner": None}, "$inc": {"attempt_count": 1}},
            session=session,
        )
        return result.modified_count == 1

    async def finish_attempts(
        self, finished: list[tuple[UUID, dict[str, Any]]], owner: str, session: Session
    ) -> int:
        """`finish_attempt` for many messages in one bulk write; how many `owner` still held."""
        if not finished:
            return 0
        result = await self.db[MESSAGES].bulk_write(
            [
                UpdateOne(
                    {"_id": message_id, "lease_owner": owner, "status": "pending"},
                    {
                        "$set": {**changes, "lease_until": None, "lease_owner": None},
                        "$inc": {"attempt_count": 1},
                    },
                )
                for message_id, changes in finished
            ],
            ordered=False,
            session=session,
        )
        return int(result.modified_count)

    async def insert_attempts(self, docs: list[Document], session: Session) -> None:
        if docs:
            await self.db[ATTEMPTS].insert_many(docs, session=session)

    async def insert_attempt(self, doc: Document, session: Session) -> None:
        await self.db[ATTEMPTS].insert_one(doc, session=session)

    async def messages_of_endpoint(
        self, endpoint_id: UUID, *, status: str | None, after: UUID | None, limit: int
    ) -> list[Document]:
        query: dict[str, Any] = {"endpoint_id": endpoint_id}
        if status:
            query["status"] = status
        if after is not None:
            query["_id"] = {"$lt": after}
        return await self.db[MESSAGES].find(query).sort("_id", DESCENDING).limit(limit).to_list()

    async def attempts_of_message(self, message_id: UUID) -> list[Document]:
        return await self.db[ATTEMPTS].find({"message_id": message_id}).sort("at", ASCENDING).to_list()

    async def requeue(self, query: dict[str, Any], now: datetime, session: Session | None = None) -> int:
        result = await self.db[MESSAGES].update_many(
            query,
            {
                "$set": {
                    "status": "pending",
                    "next_attempt_at": now,
                    "attempt_count": 0,
                    "lease_until": None,
                    "lease_owner": None,
                }
            },
            session=session,
        )
        return result.modified_count

    async def fail_pending_of_endpoint(self, endpoint_id: UUID, reason: str, session: Session) -> None:
        await self.db[MESSAGES].update_many(
            {"endpoint_id": endpoint_id, "status": "pending"},
            {"$set": {"status": "failed", "last_error": reason, "lease_until": None, "lease_owner": None}},
            session=session,
        )

    async def redact_supporter(self, supporter_id: UUID, session: Session) -> int:
        result = await self.db[MESSAGES].update_many(
            {"supporter_id": supporter_id},
            {"$set": {"payload.data.contact": None, "redacted": True}, "$unset": {"supporter_id": ""}},
            session=session,
        )
        return result.modified_count

    async def endpoint_stats(self, endpoint_id: UUID, since: datetime) -> dict[str, Any]:
        rows = await (
            await self.db[ATTEMPTS].aggregate(
                [
                    {"$match": {"endpoint_id": endpoint_id, "at": {"$gte": since}}},
                    {
                        "$group": {
                            "_id": "$outcome",
                            "count": {"$sum": 1},
                            "latency": {"$avg": "$latency_ms"},
                        }
                    },
                ]
            )
        ).to_list()
        by_outcome = {r["_id"]: r for r in rows}
        pending = await self.db[MESSAGES].count_documents({"endpoint_id": endpoint_id, "status": "pending"})
        failed = await self.db[MESSAGES].count_documents({"endpoint_id": endpoint_id, "status": "failed"})
        return {"by_outcome": by_outcome, "pending": pending, "failed": failed}

    # ---- notices, e-mails, preferences ----------------------------------------------------------
    async def insert_notice(self, doc: Document, session: Session) -> None:
        await self.db[NOTICES].insert_one(doc, session=session)

    async def notices_of(
        self, user_id: UUID, *, unread_only: bool, after: UUID | None, limit: int
    ) -> list[Document]:
        query: dict[str, Any] = {"user_id": user_id}
        if unread_only:
            query["read_at"] = None
        if after is not None:
            query["_id"] = {"$lt": after}
        return await self.db[NOTICES].find(query).sort("_id", DESCENDING).limit(limit).to_list()

    async def unread_count(self, user_id: UUID) -> int:
        return await self.db[NOTICES].count_documents({"user_id": user_id, "read_at": None})

    async def mark_read(self, user_id: UUID, notice_id: UUID | None, now: datetime) -> int:
        query: dict[str, Any] = {"user_id": user_id, "read_at": None}
        if notice_id is not None:
            query["_id"] = notice_id
        result = await self.db[NOTICES].update_many(query, {"$set": {"read_at": now}})
        return result.modified_count

    async def get_notice(self, user_id: UUID, notice_id: UUID) -> Document | None:
        return await self.db[NOTICES].find_one({"_id": notice_id, "user_id": user_id})

    async def insert_email(self, doc: Document, session: Session) -> None:
        await self.db[EMAILS].insert_one(doc, session=session)
        note_queued(EMAILS)

    async def finish_email(self, email_id: UUID, owner: str, changes: dict[str, Any]) -> None:
        await self.db[EMAILS].update_one(
            {"_id": email_id, "lease_owner": owner},
            {"$set": {**changes, "lease_until": None, "lease_owner": None}, "$inc": {"attempts": 1}},
        )

    async def preferences(self, user_id: UUID, session: Session | None = None) -> Document:
        return await self.db[PREFERENCES].find_one({"_id": user_id}, session=session) or {"_id": user_id}

    async def set_preferences(self, user_id: UUID, categories: dict[str, Any], now: datetime) -> Document:
        doc = await self.db[PREFERENCES].find_one_and_update(
            {"_id": user_id},
            {"$set": {"categories": categories, "updated_at": now}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None
        return doc

    # ---- deferred notices (notifications.notices) -----------------------------------------------
    async def defer_notice(self, doc: Document, session: Session) -> None:
        await self.db[DEFERRED_NOTICES].insert_one(doc, session=session)

    async def mark_deferred_delivered(self, deferred_id: UUID, user_id: UUID, session: Session) -> None:
        await self.db[DEFERRED_NOTICES].update_one(
            {"_id": deferred_id}, {"$addToSet": {"delivered_to": user_id}}, session=session
        )

    async def take_deferred_for_user(self, user_id: UUID, session: Session) -> list[Document]:
        """The notices deferred for this user, removed: each is delivered once, in this transaction."""
        docs = await self.db[DEFERRED_NOTICES].find({"user_id": user_id}, session=session).to_list()
        if docs:
            await self.db[DEFERRED_NOTICES].delete_many({"user_id": user_id}, session=session)
        return docs

    async def touch(self, collection: str, key: UUID, now: datetime, session: Session) -> None:
        """Write a projection document (created if missing) so that concurrent transactions that also
        write it conflict: MongoDB commits one, the other retries and sees what the first did."""
        await self.db[collection].update_one(
            {"_id": key}, {"$set": {"touched_at": now}}, upsert=True, session=session
        )

    # ---- projections --------------------------------------------------------------------------------
    async def upsert(
        self, collection: str, key: dict[str, Any], fields: dict[str, Any], session: Session
    ) -> None:
        await self.db[collection].update_one(key, {"$set": fields}, upsert=True, session=session)

    async def delete(self, collection: str, key: dict[str, Any], session: Session) -> None:
        await self.db[collection].delete_one(key, session=session)

    async def find_one(
        self, collection: str, key: dict[str, Any], session: Session | None = None
    ) -> Document | None:
        return await self.db[collection].find_one(key, session=session)

    async def find(
        self, collection: str, query: dict[str, Any], session: Session | None = None
    ) -> list[Document]:
        return await self.db[collection].find(query, session=session).to_list()

    async def add_adopter(self, campaign_id: UUID, org_id: UUID, session: Session) -> None:
        await self.db[CAMPAIGNS].update_one(
            {"_id": campaign_id}, {"$addToSet": {"adopters": org_id}}, upsert=True, session=session
        )

    async def remove_adopter(self, campaign_id: UUID, org_id: UUID, session: Session) -> None:
        await self.db[CAMPAIGNS].update_one(
            {"_id": campaign_id}, {"$pull": {"adopters": org_id}}, session=session
        )

    # ---- mail to decision-makers ---------------------------------------------------------------------
    async def queue_outgoing(self, docs: list[Document], session: Session) -> int:
        """Queue mail items; an item already queued (the same letter and target) is left as it is."""
        queued = 0
        for doc in docs:
            key = {
                "kind": doc["kind"],
                "item_id": doc["item_id"],
                "target.target_id": doc["target"]["target_id"],
            }
            result = await self.db[OUTGOING].update_one(
                key, {"$setOnInsert": doc}, upsert=True, session=session
            )
            queued += 1 if result.upserted_id is not None else 0
        if queued:
            note_queued(OUTGOING)
        return queued

    async def open_digest_due(self, digest_key: str, session: Session) -> datetime | None:
        """When the open digest of `digest_key` (queued, not being sent) goes out, if there is one."""
        doc = await self.db[OUTGOING].find_one(
            {"digest_key": digest_key, "status": "pending", "lease_owner": None, "attempts": 0},
            {"next_attempt_at": 1},
            sort=[("next_attempt_at", ASCENDING)],
            session=session,
        )
        return None if doc is None else doc["next_attempt_at"]

    async def finish_outgoing(
        self, ids: list[Any], owner: str, changes: dict[str, Any], session: Session, *, inc: bool = True
    ) -> int:
        """Record an attempt's outcome on the items `owner` holds."""
        update: dict[str, Any] = {"$set": {**changes, "lease_until": None, "lease_owner": None}}
        if inc:
            update["$inc"] = {"attempts": 1}
        result = await self.db[OUTGOING].update_many(
            {"_id": {"$in": ids}, "lease_owner": owner}, update, session=session
        )
        return result.modified_count

    async def fail_queued_of_supporter(
        self, supporter_id: UUID, now: datetime, session: Session
    ) -> list[Document]:
        """Mark the supporter's queued letters failed (erased) and forget their text; the ones marked."""
        query = {"supporter_id": supporter_id, "status": "pending"}
        docs = (
            await self.db[OUTGOING]
            .find(query, {"item_id": 1, "campaign_id": 1, "target": 1, "kind": 1}, session=session)
            .to_list()
        )
        if docs:
            await self.db[OUTGOING].update_many(
                {"_id": {"$in": [d["_id"] for d in docs]}},
                {
                    "$set": {
                        "status": "failed",
                        "last_error": "supporter_erased",
                        "finished_at": now,
                        "from_name": "",
                        "reply_to": None,
                        "body": "",
                        "lease_until": None,
                        "lease_owner": None,
                    }
                },
                session=session,
            )
        return docs

    async def insert_sent(self, doc: Document, session: Session) -> None:
        await self.db[SENT_MESSAGES].insert_one(doc, session=session)

    async def sent_messages(
        self, *, campaign_id: UUID, org_ids: list[UUID], after: UUID | None, limit: int
    ) -> list[Document]:
        query: dict[str, Any] = {"campaign_id": campaign_id, "organization_id": {"$in": org_ids}}
        if after is not None:
            query["_id"] = {"$lt": after}
        return await self.db[SENT_MESSAGES].find(query).sort("_id", DESCENDING).limit(limit).to_list()

    async def expire_sent_of_campaign(
        self, campaign_id: UUID, expires_at: datetime, session: Session
    ) -> None:
        await self.db[SENT_MESSAGES].update_many(
            {"campaign_id": campaign_id}, {"$set": {"expires_at": expires_at}}, session=session
        )

    async def redact_sent_of_supporter(self, supporter_id: UUID, session: Session) -> None:
        """An erased supporter's letters kept as sent lose their name, address and text (not the record)."""
        await self.db[SENT_MESSAGES].update_many(
            {"supporter_ids": supporter_id},
            {
                "$set": {"body": "[erased at the supporter's request]", "redacted": True},
                "$unset": {"headers.From": "", "headers.Reply-To": ""},
                "$pull": {"supporter_ids": supporter_id},
            },
            session=session,
        )
