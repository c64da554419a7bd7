"""Who may do what now: a projection of identity's events, and the caller's principal resolved against it.

Resource services verify access tokens locally, but the roles and scopes inside a token are a snapshot
of when it was issued. Each resource service keeps, in its own database, the current memberships (and
their roles), API clients (and whether they are revoked) and organizations (and whether they are
deactivated), fed by identity's events through its own consumer group `<service>-access`. After a token
is verified, its principal is narrowed to what this projection says, so a revoked client or a removed
or demoted member is refused as soon as the event is consumed (decision 0012).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, IndexModel

from common.auth import OrgRole, Principal
from common.contracts import identity as idn
from common.contracts import topics
from common.errors import Unauthenticated
from common.events import CloudEvent, EventPayload, utcnow
from common.inbox import EventConsumer, Handler
from common.kafka import subscribe_consumer
from common.mongo import Database, Indexes, Session
from common.runtime import Runtime

log = logging.getLogger(__name__)

MEMBERSHIPS = "access_memberships"
CLIENTS = "access_clients"
ORGS = "access_orgs"
REVOKED = "revoked"
ACTIVE = "active"
DEACTIVATED = "deactivated"
# How long after its issue a token is trusted for what the projection has never heard of: a token issued
# right after a membership or an API client was created may arrive before identity's event does.
NEW_ACCESS_GRACE_SECONDS = 30.0

ACCESS_INDEXES = (
    Indexes(
        MEMBERSHIPS,
        (IndexModel([("user_id", ASCENDING), ("org_id", ASCENDING)], unique=True, name="user_org"),),
    ),
)

ACCESS_EVENTS: tuple[type[EventPayload], ...] = (
    idn.OrganizationRegistered,
    idn.OrganizationUpdated,
    idn.OrganizationDeactivated,
    idn.MembershipGranted,
    idn.MembershipRoleChanged,
    idn.MembershipRevoked,
    idn.ApiClientCreated,
    idn.ApiClientRevoked,
)


@dataclass(frozen=True)
class OrganizationProfile:
    """What identity's events say of an organization's public face (for pages that show it)."""

    id: UUID
    name: str | None
    status: str
    logo_url: str | None = None
    privacy_notice_url: str | None = None
    embed_origins: tuple[str, ...] = ()


def _profile(p: idn.OrganizationRegistered | idn.OrganizationUpdated) -> dict[str, Any]:
    return {
        "name": p.name,
        "logo_url": p.logo_url,
        "privacy_notice_url": p.privacy_notice_url,
        "embed_origins": list(p.embed_origins),
    }


AccessChanged = Callable[[EventPayload, Session], Awaitable[None]]


def consumer_name(service: str) -> str:
    return f"{service}-access"


class AccessProjection:
    """The current memberships, API clients and organizations, and principals narrowed to them."""

    def __init__(self, db: Database, *, grace_seconds: float = NEW_ACCESS_GRACE_SECONDS) -> None:
        self.db = db
        self.grace_seconds = grace_seconds

    # ---- the projection ---------------------------------------------------------------------------
    async def apply(self, p: EventPayload, session: Session) -> None:
        """Record one of identity's events (in the consumer's transaction)."""
        now = utcnow()
        if isinstance(p, idn.OrganizationRegistered | idn.OrganizationUpdated):
            await self.db[ORGS].update_one(
                {"_id": p.organization_id},
                {"$setOnInsert": {"status": ACTIVE}, "$set": {"updated_at": now, **_profile(p)}},
                upsert=True,
                session=session,
            )
        elif isinstance(p, idn.OrganizationDeactivated):
            await self.db[ORGS].update_one(
                {"_id": p.organization_id},
                {"$set": {"status": DEACTIVATED, "updated_at": now}},
                upsert=True,
                session=session,
            )
        elif isinstance(p, idn.MembershipGranted | idn.MembershipRoleChanged):
            await self._set_membership(p.organization_id, p.user_id, p.role, session)
        elif isinstance(p, idn.MembershipRevoked):
            # A tombstone, not a deletion: a membership that ended is not one never heard of.
            await self._set_membership(p.organization_id, p.user_id, None, session)
        elif isinstance(p, idn.ApiClientCreated):
            await self.db[CLIENTS].update_one(
                {"_id": p.client_id},
                {
                    "$set": {"org_id": p.organization_id, "scopes": sorted(p.scopes), "updated_at": now},
                    "$setOnInsert": {"status": ACTIVE},
                },
                upsert=True,
                session=session,
            )
        elif isinstance(p, idn.ApiClientRevoked):
            await self.db[CLIENTS].update_one(
                {"_id": p.client_id},
                {
                    "$set": {"org_id": p.organization_id, "status": REVOKED, "updated_at": now},
                    "$setOnInsert": {"scopes": []},
                },
                upsert=True,
                session=session,
            )

    async def _set_membership(self, org_id: UUID, user_id: UUID, role: str | None, session: Session) -> None:
        await self.db[MEMBERSHIPS].update_one(
            {"user_id": user_id, "org_id": org_id},
            {"$set": {"role": role, "updated_at": utcnow()}},
            upsert=True,
            session=session,
        )

    # ---- what it says -----------------------------------------------------------------------------
    async def role_of(self, user_id: UUID, org_id: UUID) -> str | None:
        """The member's current role; None when removed or never heard of."""
        doc = await self.db[MEMBERSHIPS].find_one({"user_id": user_id, "org_id": org_id})
        return None if doc is None else doc.get("role")

    async def knows_membership(self, user_id: UUID, org_id: UUID) -> bool:
        return await self.db[MEMBERSHIPS].find_one({"user_id": user_id, "org_id": org_id}) is not None

    async def client_status(self, client_id: str) -> str | None:
        """`active`, `revoked`, or None when never heard of."""
        doc = await self.db[CLIENTS].find_one({"_id": client_id}, {"status": 1})
        return None if doc is None else str(doc["status"])

    async def org_status(self, org_id: UUID) -> str | None:
        doc = await self.db[ORGS].find_one({"_id": org_id}, {"status": 1})
        return None if doc is None else str(doc["status"])

    async def organization(self, org_id: UUID) -> OrganizationProfile | None:
        doc = await self.db[ORGS].find_one({"_id": org_id})
        if doc is None:
            return None
        return OrganizationProfile(
            id=org_id,
            name=doc.get("name"),
            status=str(doc.get("status", ACTIVE)),
            logo_url=doc.get("logo_url"),
            privacy_notice_url=doc.get("privacy_notice_url"),
            embed_origins=tuple(doc.get("embed_origins") or ()),
        )

    async def _deactivated(self, org_ids: set[UUID]) -> set[UUID]:
        if not org_ids:
            return set()
        docs = await self.db[ORGS].find({"_id": {"$in": list(org_ids)}, "status": DEACTIVATED}).to_list()
        return {d["_id"] for d in docs}

    # ---- principals -------------------------------------------------------------------------------
    def _fresh(self, principal: Principal, now: float | None) -> bool:
        return ((now if now is not None else time.time()) - principal.issued_at) <= self.grace_seconds

    async def resolve(self, principal: Principal, *, now: float | None = None) -> Principal:
        """The verified principal narrowed to the current state: roles and scopes the projection confirms.

        What the projection has never heard of is taken from the token only while the token is fresh
        (`grace_seconds` since its issue); a known state always wins over the token's snapshot.
        """
        if principal.kind == "client":
            return await self._resolve_client(principal, now)
        return await self._resolve_user(principal, now)

    async def _resolve_client(self, principal: Principal, now: float | None) -> Principal:
        doc = await self.db[CLIENTS].find_one({"_id": principal.subject})
        org = principal.client_org
        if doc is None:
            if not self._fresh(principal, now):
                raise Unauthenticated("the API client is not known to this service")
            scopes = principal.scopes
        else:
            if doc.get("status") == REVOKED:
                raise Unauthenticated("the API client was revoked")
            if doc.get("org_id") != org:
                raise Unauthenticated("the API client belongs to another organization")
            scopes = principal.scopes & frozenset(doc.get("scopes") or ())
        if org is not None and await self._deactivated({org}):
            raise Unauthenticated("the API client's organization is deactivated")
        return principal.model_copy(update={"scopes": scopes})

    async def _resolve_user(self, principal: Principal, now: float | None) -> Principal:
        user_id = principal.user_id
        assert user_id is not None
        docs = await self.db[MEMBERSHIPS].find({"user_id": user_id}).to_list()
        known = {d["org_id"] for d in docs}
        roles: dict[UUID, OrgRole] = {d["org_id"]: d["role"] for d in docs if d.get("role") is not None}
        if self._fresh(principal, now):
            for org_id, role in principal.org_roles.items():
                if org_id not in known:
                    roles[org_id] = role
        for org_id in await self._deactivated(set(roles)):
            del roles[org_id]
        if roles != principal.org_roles:
            log.debug("principal %s: roles %s narrowed to %s", principal.subject, principal.org_roles, roles)
        return principal.model_copy(update={"org_roles": roles})


def subscribe_access(
    runtime: Runtime,
    projection: AccessProjection,
    *,
    max_attempts: int,
    on_change: AccessChanged | None = None,
    consumer_type: type[EventConsumer] = EventConsumer,
    **consumer_options: Any,
) -> EventConsumer:
    """Keep `projection` from identity's organization topic with the consumer group `<service>-access`.

    `on_change` runs after the projection in the same transaction (e.g. to flag what a removed person
    created); `consumer_type` and `consumer_options` let a service use its own consumer class.
    """

    async def apply(payload: EventPayload, _: CloudEvent, session: Session) -> None:
        await projection.apply(payload, session)
        if on_change is not None:
            await on_change(payload, session)

    consumer = consumer_type(
        name=consumer_name(runtime.service),
        client=runtime.client,
        db=runtime.db,
        sink=runtime.broker,
        max_attempts=max_attempts,
        handlers={e.event_type: Handler(e, apply) for e in ACCESS_EVENTS},
        known_types=[e.event_type for e in idn.ORGANIZATION_EVENTS],
        **consumer_options,
    )
    subscribe_consumer(
        runtime.broker,
        consumer,
        topics.IDENTITY_ORGANIZATIONS,
        description=(
            "Keeps the access projection (memberships and roles, API clients and their status, "
            "organization status) that every request's roles and scopes are checked against."
        ),
    )
    return consumer
