"""MongoDB persistence of the identity service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, IndexModel, ReturnDocument

from common.mongo import Database, Document, Indexes, Session
from identity.domain.memberships import OrgRole
from identity.domain.organizations import Organization, OrgStatus
from identity.domain.users import User
from identity.keys import SIGNING_KEYS

ORGANIZATIONS = "organizations"
USERS = "users"
MEMBERSHIPS = "memberships"
INVITATIONS = "invitations"
API_CLIENTS = "api_clients"
REFRESH_TOKENS = "refresh_tokens"
LOGIN_ATTEMPTS = "login_attempts"
EMAIL_VERIFICATIONS = "email_verifications"
DISCLOSURES = "disclosures"  # one per organization: its current funding declaration

INDEXES = (
    Indexes(ORGANIZATIONS, (IndexModel([("slug", ASCENDING)], unique=True, name="slug_unique"),)),
    Indexes(USERS, (IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),)),
    Indexes(
        MEMBERSHIPS,
        (
            IndexModel([("org_id", ASCENDING), ("user_id", ASCENDING)], unique=True, name="org_user"),
            IndexModel([("user_id", ASCENDING)], name="by_user"),
        ),
    ),
    Indexes(
        INVITATIONS,
        (
            IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash"),
            IndexModel([("org_id", ASCENDING), ("status", ASCENDING)], name="by_org"),
        ),
    ),
    Indexes(
        EMAIL_VERIFICATIONS,
        (
            IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash"),
            IndexModel([("user_id", ASCENDING), ("status", ASCENDING)], name="by_user"),
            IndexModel([("expires_at", ASCENDING)], name="expired_ttl", expireAfterSeconds=7 * 24 * 3600),
        ),
    ),
    Indexes(API_CLIENTS, (IndexModel([("org_id", ASCENDING)], name="by_org"),)),
    Indexes(
        REFRESH_TOKENS,
        (
            IndexModel([("family_id", ASCENDING)], name="by_family"),
            IndexModel([("user_id", ASCENDING)], name="by_user"),
            IndexModel([("expires_at", ASCENDING)], name="expired_ttl", expireAfterSeconds=24 * 3600),
        ),
    ),
    Indexes(LOGIN_ATTEMPTS, (IndexModel([("expires_at", ASCENDING)], name="ttl", expireAfterSeconds=0),)),
    Indexes(SIGNING_KEYS, (IndexModel([("created_at", ASCENDING)], name="by_age"),)),
)


def _org(doc: Document) -> Organization:
    return Organization.model_validate({**doc, "id": doc["_id"]})


def _user(doc: Document) -> User:
    return User.model_validate({**doc, "id": doc["_id"]})


@dataclass(frozen=True)
class LoginCounter:
    """A login throttle counter after an attempt to count on it."""

    granted: bool
    attempts: int
    strikes: int
    locked_until: datetime | None
    expires_at: datetime


def _counter(doc: Document) -> LoginCounter:
    return LoginCounter(
        granted=bool(doc["granted"]),
        attempts=int(doc.get("attempts", 0)),
        strikes=int(doc.get("strikes", 0)),
        locked_until=doc.get("locked_until"),
        expires_at=doc["expires_at"],
    )


class IdentityRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # organizations
    async def insert_organization(self, org: Organization, session: Session) -> None:
        doc = org.model_dump(exclude={"id"})
        await self.db[ORGANIZATIONS].insert_one({"_id": org.id, **doc}, session=session)

    async def get_organization(self, org_id: UUID, session: Session | None = None) -> Organization | None:
        doc = await self.db[ORGANIZATIONS].find_one({"_id": org_id}, session=session)
        return _org(doc) if doc else None

    async def update_organization(
        self, org_id: UUID, changes: dict[str, Any], session: Session
    ) -> Organization | None:
        doc = await self.db[ORGANIZATIONS].find_one_and_update(
            {"_id": org_id}, {"$set": changes}, return_document=ReturnDocument.AFTER, session=session
        )
        return _org(doc) if doc else None

    async def list_organizations(
        self, *, after: UUID | None, limit: int, kind: str | None, country: str | None
    ) -> list[Organization]:
        query: dict[str, Any] = {"status": OrgStatus.ACTIVE.value}
        if after is not None:
            query["_id"] = {"$gt": after}
        if kind:
            query["kind"] = kind
        if country:
            query["country"] = country
        docs = await self.db[ORGANIZATIONS].find(query).sort("_id", ASCENDING).limit(limit).to_list()
        return [_org(d) for d in docs]

    # users
    async def insert_user(self, doc: Document, session: Session) -> None:
        await self.db[USERS].insert_one(doc, session=session)

    async def get_user_doc(self, user_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[USERS].find_one({"_id": user_id}, session=session)

    async def get_user(self, user_id: UUID, session: Session | None = None) -> User | None:
        doc = await self.get_user_doc(user_id, session)
        return _user(doc) if doc else None

    async def find_user_by_email(self, email: str, session: Session | None = None) -> Document | None:
        return await self.db[USERS].find_one({"email": email}, session=session)

    async def find_user_signing_in(self, names: list[str]) -> Document | None:
        """The user stored under the first of `names` that exists (canonical form first, then older forms)."""
        for name in dict.fromkeys(names):
            doc = await self.db[USERS].find_one({"email": name})
            if doc is not None:
                return doc
        return None

    async def update_user(
        self, user_id: UUID, changes: dict[str, Any], session: Session | None = None
    ) -> User | None:
        doc = await self.db[USERS].find_one_and_update(
            {"_id": user_id}, {"$set": changes}, return_document=ReturnDocument.AFTER, session=session
        )
        return _user(doc) if doc else None

    # memberships
    async def insert_membership(self, doc: Document, session: Session) -> None:
        await self.db[MEMBERSHIPS].insert_one(doc, session=session)

    async def get_membership(
        self, org_id: UUID, user_id: UUID, session: Session | None = None
    ) -> Document | None:
        return await self.db[MEMBERSHIPS].find_one({"org_id": org_id, "user_id": user_id}, session=session)

    async def role_of(self, org_id: UUID, user_id: UUID, session: Session | None = None) -> OrgRole | None:
        doc = await self.get_membership(org_id, user_id, session)
        return OrgRole(doc["role"]) if doc else None

    async def set_role(
        self, org_id: UUID, user_id: UUID, role: OrgRole, at: datetime, session: Session
    ) -> None:
        await self.db[MEMBERSHIPS].update_one(
            {"org_id": org_id, "user_id": user_id},
            {"$set": {"role": role.value, "updated_at": at}},
            session=session,
        )

    async def delete_membership(self, org_id: UUID, user_id: UUID, session: Session) -> None:
        await self.db[MEMBERSHIPS].delete_one({"org_id": org_id, "user_id": user_id}, session=session)

    async def count_owners(self, org_id: UUID, session: Session) -> int:
        return await self.db[MEMBERSHIPS].count_documents(
            {"org_id": org_id, "role": OrgRole.OWNER.value}, session=session
        )

    async def members_of(self, org_id: UUID) -> list[Document]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"org_id": org_id}},
            {"$sort": {"created_at": 1}},
            {"$lookup": {"from": USERS, "localField": "user_id", "foreignField": "_id", "as": "user"}},
            {"$unwind": "$user"},
        ]
        return await (await self.db[MEMBERSHIPS].aggregate(pipeline)).to_list()

    async def memberships_of_user(self, user_id: UUID, session: Session | None = None) -> list[Document]:
        """The user's memberships in active organizations."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"user_id": user_id}},
            {"$lookup": {"from": ORGANIZATIONS, "localField": "org_id", "foreignField": "_id", "as": "org"}},
            {"$unwind": "$org"},
            {"$match": {"org.status": OrgStatus.ACTIVE.value}},
            {"$sort": {"created_at": 1}},
        ]
        return await (await self.db[MEMBERSHIPS].aggregate(pipeline, session=session)).to_list()

    # invitations
    async def insert_invitation(self, doc: Document, session: Session) -> None:
        await self.db[INVITATIONS].insert_one(doc, session=session)

    async def find_invitation_by_token(self, token_hash: str, session: Session) -> Document | None:
        return await self.db[INVITATIONS].find_one({"token_hash": token_hash}, session=session)

    async def get_invitation(
        self, org_id: UUID, invitation_id: UUID, session: Session | None = None
    ) -> Document | None:
        return await self.db[INVITATIONS].find_one({"_id": invitation_id, "org_id": org_id}, session=session)

    async def set_invitation(self, invitation_id: UUID, changes: dict[str, Any], session: Session) -> None:
        await self.db[INVITATIONS].update_one({"_id": invitation_id}, {"$set": changes}, session=session)

    async def invitations_of(self, org_id: UUID) -> list[Document]:
        return await self.db[INVITATIONS].find({"org_id": org_id}).sort("created_at", -1).to_list()

    # e-mail verifications
    async def insert_email_verification(self, doc: Document, session: Session) -> None:
        await self.db[EMAIL_VERIFICATIONS].update_many(
            {"user_id": doc["user_id"], "status": "pending"},
            {"$set": {"status": "superseded", "superseded_at": doc["created_at"]}},
            session=session,
        )
        await self.db[EMAIL_VERIFICATIONS].insert_one(doc, session=session)

    async def find_email_verification(self, token_hash: str, session: Session) -> Document | None:
        return await self.db[EMAIL_VERIFICATIONS].find_one({"token_hash": token_hash}, session=session)

    async def use_email_verification(self, verification_id: UUID, at: datetime, session: Session) -> bool:
        """Mark a pending verification used; False when it was not pending any more (a race lost)."""
        result = await self.db[EMAIL_VERIFICATIONS].update_one(
            {"_id": verification_id, "status": "pending"},
            {"$set": {"status": "used", "used_at": at}},
            session=session,
        )
        return result.modified_count == 1

    # API clients
    async def insert_client(self, doc: Document, session: Session) -> None:
        await self.db[API_CLIENTS].insert_one(doc, session=session)

    async def get_client(self, client_id: str, session: Session | None = None) -> Document | None:
        return await self.db[API_CLIENTS].find_one({"_id": client_id}, session=session)

    async def clients_of(self, org_id: UUID) -> list[Document]:
        return await self.db[API_CLIENTS].find({"org_id": org_id}).sort("created_at", -1).to_list()

    async def set_client(self, client_id: str, changes: dict[str, Any], session: Session) -> None:
        await self.db[API_CLIENTS].update_one({"_id": client_id}, {"$set": changes}, session=session)

    # refresh tokens
    async def insert_refresh_token(self, doc: Document) -> None:
        await self.db[REFRESH_TOKENS].insert_one(doc)

    async def find_refresh_token(self, token_hash: str) -> Document | None:
        return await self.db[REFRESH_TOKENS].find_one({"_id": token_hash})

    async def consume_refresh_token(self, token_hash: str, at: datetime) -> Document | None:
        """Mark an active token used; None when it was not active (a reuse, or a race lost)."""
        return await self.db[REFRESH_TOKENS].find_one_and_update(
            {"_id": token_hash, "status": "active", "expires_at": {"$gt": at}},
            {"$set": {"status": "used", "used_at": at}},
        )

    async def revoke_family(self, family_id: str, at: datetime) -> int:
        result = await self.db[REFRESH_TOKENS].update_many(
            {"family_id": family_id, "status": {"$ne": "revoked"}},
            {"$set": {"status": "revoked", "revoked_at": at}},
        )
        return result.modified_count

    async def revoke_user_tokens(self, user_id: UUID, at: datetime) -> None:
        await self.db[REFRESH_TOKENS].update_many(
            {"user_id": user_id, "status": "active"}, {"$set": {"status": "revoked", "revoked_at": at}}
        )

    # login throttle: counters keyed by digests of (account, source) pairs and of accounts
    async def reserve_pair_attempt(
        self, key: str, *, now: datetime, limit: int, forget_at: datetime
    ) -> LoginCounter:
        """Count one attempt unless the pair is locked or `limit` attempts already count; one atomic step.

        Concurrent attempts cannot all slip past the check: the check and the count are one update.
        """
        stale = {"$or": [{"$eq": [{"$type": "$expires_at"}, "missing"]}, {"$lte": ["$expires_at", now]}]}
        pipeline: list[dict[str, Any]] = [
            {
                "$set": {
                    "attempts": {"$cond": [stale, 0, {"$ifNull": ["$attempts", 0]}]},
                    "strikes": {"$cond": [stale, 0, {"$ifNull": ["$strikes", 0]}]},
                    "locked_until": {"$cond": [stale, None, {"$ifNull": ["$locked_until", None]}]},
                }
            },
            {
                "$set": {
                    "granted": {
                        "$and": [{"$lt": ["$attempts", limit]}, {"$not": [{"$gt": ["$locked_until", now]}]}]
                    }
                }
            },
            {
                "$set": {
                    "attempts": {"$cond": ["$granted", {"$add": ["$attempts", 1]}, "$attempts"]},
                    "expires_at": forget_at,
                }
            },
        ]
        doc = await self.db[LOGIN_ATTEMPTS].find_one_and_update(
            {"_id": key}, pipeline, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert doc is not None
        return _counter(doc)

    async def strikes_of(self, key: str) -> int:
        doc = await self.db[LOGIN_ATTEMPTS].find_one({"_id": key}, {"strikes": 1})
        return int(doc.get("strikes", 0)) if doc else 0

    async def lock_pair(self, key: str, *, at_least: int, until: datetime, keep: int) -> bool:
        """Lock a pair whose counted attempts reached `at_least`; `keep` attempts stay counted after it."""
        result = await self.db[LOGIN_ATTEMPTS].update_one(
            {"_id": key, "attempts": {"$gte": at_least}},
            {"$set": {"locked_until": until, "attempts": keep}, "$inc": {"strikes": 1}},
        )
        return result.modified_count == 1

    async def reserve_account_attempt(
        self, key: str, *, now: datetime, ceiling: int, window_ends: datetime
    ) -> LoginCounter:
        """Count one attempt in the account's current window unless `ceiling` already count; atomic."""
        stale = {"$or": [{"$eq": [{"$type": "$expires_at"}, "missing"]}, {"$lte": ["$expires_at", now]}]}
        pipeline: list[dict[str, Any]] = [
            {
                "$set": {
                    "attempts": {"$cond": [stale, 0, {"$ifNull": ["$attempts", 0]}]},
                    "expires_at": {"$cond": [stale, window_ends, "$expires_at"]},
                }
            },
            {"$set": {"granted": {"$lt": ["$attempts", ceiling]}}},
            {"$set": {"attempts": {"$cond": ["$granted", {"$add": ["$attempts", 1]}, "$attempts"]}}},
        ]
        doc = await self.db[LOGIN_ATTEMPTS].find_one_and_update(
            {"_id": key}, pipeline, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert doc is not None
        return _counter(doc)

    async def release_attempt(self, key: str) -> None:
        """Uncount one attempt (it succeeded, or was refused for another reason before any verification)."""
        await self.db[LOGIN_ATTEMPTS].update_one(
            {"_id": key, "attempts": {"$gt": 0}}, {"$inc": {"attempts": -1}}
        )

    async def forget(self, key: str) -> None:
        await self.db[LOGIN_ATTEMPTS].delete_one({"_id": key})

    # ---- funding disclosures -----------------------------------------------------------------------
    async def get_disclosures(self, org_id: UUID, session: Session | None = None) -> Document | None:
        return await self.db[DISCLOSURES].find_one({"_id": org_id}, session=session)

    async def put_disclosures(self, org_id: UUID, fields: dict[str, Any], session: Session) -> Document:
        doc = await self.db[DISCLOSURES].find_one_and_update(
            {"_id": org_id},
            {"$set": fields},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert doc is not None
        return doc
