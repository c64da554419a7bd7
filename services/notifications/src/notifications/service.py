"""Use cases of webhook endpoints: registration, secrets, and the operator API (messages, retries, stats)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from opentelemetry import propagate

from common import scopes
from common.auth import Principal
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.events import EventPayload, new_event_id, utcnow
from common.mongo import Document, Session, in_transaction
from common.sealing import Sealer
from notifications.config import Settings
from notifications.domain.addresses import url_problem
from notifications.domain.notices import Notice
from notifications.domain.review import REASON_TEXT, lost_access
from notifications.domain.webhooks import MessageStatus, new_secret, retry_delay, valid_pattern
from notifications.notices import NoticeService, new_id
from notifications.repository import ORGANIZATIONS, USERS, Repository
from notifications.ssrf import AddressRefused, Resolver, checked_address

MANAGE_SCOPE = scopes.WEBHOOKS_MANAGE
TEST_EVENT_TYPE = "webhook.test"
MAX_ENDPOINTS_PER_ORG = 50


@dataclass(frozen=True)
class EndpointSpec:
    url: str
    event_types: list[str]
    coalition_ids: list[UUID]
    campaign_ids: list[UUID]
    description: str
    enabled: bool
    rate_per_second: float | None = None


def authorize(principal: Principal, org_id: UUID) -> None:
    """Owners and admins of the organization, or its API clients with the `webhooks:manage` scope (the
    scope first, so a client lacking it hears about the scope, whichever organization it names)."""
    if principal.kind == "client":
        principal.require_scope(MANAGE_SCOPE)
        if principal.client_org != org_id:
            raise Forbidden("API clients manage only their own organization's webhooks")
        return
    if not (principal.has_role(org_id, "admin") or principal.platform_admin):
        raise Forbidden("only the organization's owners and admins manage its webhooks")


def active_secrets(endpoint: Document, now: datetime, sealer: Sealer | None = None) -> list[str]:
    """The endpoint's secrets that sign now; opened with `sealer` (as stored, they are sealed)."""
    stored = [
        s["secret"]
        for s in endpoint.get("secrets", [])
        if s.get("expires_at") is None or s["expires_at"] > now
    ]
    if sealer is None:
        return stored
    # Secrets stored before sealing existed are still in clear (they start with whsec_).
    return [s if s.startswith("whsec_") else sealer.open(s) for s in stored]


def message_doc(
    *,
    endpoint: Document,
    event_id: str,
    event_type: str,
    timestamp: str,
    data: dict[str, Any],
    settings: Settings,
    rng: random.Random,
) -> Document:
    now = utcnow()
    delay = (
        retry_delay(settings.retry_schedule_seconds, 0, jitter=settings.retry_jitter_ratio, rng=rng) or 0.0
    )
    doc: Document = {
        "_id": new_id(),
        "endpoint_id": endpoint["_id"],
        "org_id": endpoint["org_id"],
        "event_id": event_id,
        "event_type": event_type,
        "payload": {"type": event_type, "timestamp": timestamp, "data": data},
        "status": MessageStatus.PENDING.value,
        "attempt_count": 0,
        "next_attempt_at": now + timedelta(seconds=delay),
        "lease_until": None,
        "lease_owner": None,
        "created_at": now,
        "expires_at": None,
    }
    # The trace of the event that queued the message: each attempt is a span of it (webhook_client.py).
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if carrier:
        doc["trace"] = carrier
    if data.get("contact") is not None and data.get("supporter_id"):
        doc["supporter_id"] = UUID(str(data["supporter_id"]))
    if endpoint.get("review"):
        doc["paused"] = True  # kept, delivered once an admin confirms the endpoint
    return doc


def _require_unreviewed(endpoint: Document) -> None:
    if endpoint.get("review"):
        raise Conflict(
            "the endpoint awaits review because its creator lost access; an admin confirms it first",
            reason=endpoint["review"]["reason"],
        )


class WebhookService:
    def __init__(
        self,
        *,
        repo: Repository,
        settings: Settings,
        resolver: Resolver,
        notices: NoticeService | None = None,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.repo = repo
        self.notices = notices
        self.on_queued = on_queued  # wakes this process's delivery worker (others see the change stream)
        self.settings = settings
        self.resolver = resolver
        self.rng = random.Random()  # noqa: S311 - jitter, not cryptography

    async def _check_spec(self, spec: EndpointSpec) -> None:
        problem = url_problem(spec.url, require_https=not self.settings.is_development)
        if problem:
            raise InvalidInput(problem, field="url")
        bad = [p for p in spec.event_types if not valid_pattern(p)]
        if bad:
            raise InvalidInput(
                "event types are names such as campaigns.action.recorded, or wildcards such as campaigns.*",
                field="event_types",
                invalid=bad[:10],
            )
        try:
            await checked_address(
                spec.url, resolver=self.resolver, allow_loopback=self.settings.allow_loopback_endpoints
            )
        except AddressRefused as exc:
            raise InvalidInput(f"the endpoint is refused: {exc}", field="url") from exc

    async def endpoint_for(self, principal: Principal, endpoint_id: UUID) -> Document:
        # The scope before the lookup: a client without it gets the same 403 whether or not the id exists.
        principal.require_scope(MANAGE_SCOPE)
        endpoint = await self.repo.get_endpoint(endpoint_id)
        if endpoint is None:
            raise NotFound("no such webhook endpoint")
        try:
            authorize(principal, endpoint["org_id"])
        except Forbidden as exc:
            # Do not reveal other organizations' endpoints.
            raise NotFound("no such webhook endpoint") from exc
        return endpoint

    async def register(
        self, *, principal: Principal, org_id: UUID, spec: EndpointSpec
    ) -> tuple[Document, str]:
        authorize(principal, org_id)
        await self._check_spec(spec)
        existing = await self.repo.endpoints_of_org(org_id, after=None, limit=MAX_ENDPOINTS_PER_ORG)
        if len(existing) >= MAX_ENDPOINTS_PER_ORG:
            raise Conflict(f"an organization has at most {MAX_ENDPOINTS_PER_ORG} webhook endpoints")
        now = utcnow()
        secret = new_secret()
        doc: Document = {
            "_id": new_id(),
            "org_id": org_id,
            "url": spec.url,
            "event_types": sorted(set(spec.event_types)),
            "coalition_ids": spec.coalition_ids,
            "campaign_ids": spec.campaign_ids,
            "description": spec.description,
            "enabled": spec.enabled,
            "rate_per_second": spec.rate_per_second,
            "disabled_reason": None,
            "secrets": [
                {"secret": self.settings.secret_sealer.seal(secret), "created_at": now, "expires_at": None}
            ],
            "created_at": now,
            "updated_at": now,
            "created_by": principal.subject,
            "created_by_kind": principal.kind,
            "review": None,
            "last_success_at": None,
            "failing_since": None,
            "next_slot_at": None,
        }

        async def work(session: Session) -> None:
            await self.repo.insert_endpoint(doc, session)
            await self._tell_admins_created(doc, principal, session)

        await in_transaction(self.repo.db.client, work)
        return doc, secret

    async def _org_name(self, org_id: UUID, session: Session) -> str:
        org = await self.repo.find_one(ORGANIZATIONS, {"_id": org_id}, session)
        return str((org or {}).get("name") or "Your organization")

    async def _tell_admins_created(self, endpoint: Document, principal: Principal, session: Session) -> None:
        """The organization's owners and admins learn of every new endpoint (where its events go)."""
        if self.notices is None:
            return
        if principal.user_id is not None:
            user = await self.repo.find_one(USERS, {"_id": principal.user_id}, session)
            creator = str((user or {}).get("display_name") or "A member")
        else:
            creator = f"The API client {principal.subject}"
        notice = Notice(
            "endpoint_created",
            {
                "org_name": await self._org_name(endpoint["org_id"], session),
                "url": endpoint["url"],
                "event_types": ", ".join(endpoint["event_types"]),
                "creator": creator,
            },
        )
        # The other owners and admins: the creator knows what they did.
        await self.notices.notify_orgs(
            [endpoint["org_id"]],
            notice,
            event_id=f"endpoint-created:{endpoint['_id']}",
            session=session,
            skip={principal.user_id} if principal.user_id is not None else set(),
        )

    # ---- review, when an endpoint's creator loses access ------------------------------------------
    async def access_changed(self, event: EventPayload, session: Session) -> None:
        """Put the endpoints of a creator who lost access under review and tell the other admins."""
        lost = lost_access(event)
        if lost is None:
            return
        endpoints = await self.repo.endpoints_created_by(
            lost.org_id, lost.creator_kind, lost.creator, session
        )
        if not endpoints:
            return
        review = {"reason": lost.reason.value, "since": utcnow()}
        await self.repo.put_under_review([e["_id"] for e in endpoints], review, session)
        if self.notices is None:
            return
        # The creator may still be listed if their removal is not seen yet.
        skip = {UUID(lost.creator)} if lost.creator_kind == "user" else set()
        org_name = await self._org_name(lost.org_id, session)
        for endpoint in endpoints:
            notice = Notice(
                "endpoint_review",
                {"org_name": org_name, "url": endpoint["url"], "reason_text": REASON_TEXT[lost.reason]},
            )
            await self.notices.notify_orgs(
                [lost.org_id],
                notice,
                event_id=f"endpoint-review:{endpoint['_id']}",
                session=session,
                skip=skip,
            )

    async def confirm(self, *, principal: Principal, endpoint_id: UUID) -> Document:
        """An owner or admin vouches for an endpoint under review: its held messages are delivered."""
        endpoint = await self.endpoint_for(principal, endpoint_id)
        if principal.kind != "user":
            raise Forbidden("only the organization's owners and admins confirm an endpoint under review")
        if not endpoint.get("review"):
            return endpoint
        confirmed = {"by": principal.subject, "at": utcnow(), "reason": endpoint["review"]["reason"]}

        async def work(session: Session) -> Document | None:
            return await self.repo.clear_review(endpoint_id, confirmed, session)

        updated = await in_transaction(self.repo.db.client, work)
        if updated is None:
            raise NotFound("no such webhook endpoint")
        self.on_queued()
        return updated

    async def list_endpoints(
        self, *, principal: Principal, org_id: UUID, after: UUID | None, limit: int
    ) -> list[Document]:
        authorize(principal, org_id)
        return await self.repo.endpoints_of_org(org_id, after=after, limit=limit)

    async def update(self, *, principal: Principal, endpoint_id: UUID, changes: dict[str, Any]) -> Document:
        endpoint = await self.endpoint_for(principal, endpoint_id)
        current: dict[str, Any] = {**endpoint, **changes}
        merged = EndpointSpec(
            url=current["url"],
            event_types=current["event_types"],
            coalition_ids=current["coalition_ids"],
            campaign_ids=current["campaign_ids"],
            description=current["description"],
            enabled=current["enabled"],
            rate_per_second=changes.get("rate_per_second", endpoint.get("rate_per_second")),
        )
        await self._check_spec(merged)
        fields: dict[str, Any] = {**changes, "updated_at": utcnow()}
        if "event_types" in fields:
            fields["event_types"] = sorted(set(fields["event_types"]))
        if changes.get("enabled") and not endpoint["enabled"]:
            fields.update({"disabled_reason": None, "failing_since": None})
        updated = await self.repo.update_endpoint(endpoint_id, {"$set": fields})
        if updated is None:
            raise NotFound("no such webhook endpoint")
        return updated

    async def delete(self, *, principal: Principal, endpoint_id: UUID) -> None:
        await self.endpoint_for(principal, endpoint_id)
        client = self.repo.db.client

        async def work(session: Session) -> None:
            await self.repo.delete_endpoint(endpoint_id, session)

        await in_transaction(client, work)

    async def rotate_secret(
        self, *, principal: Principal, endpoint_id: UUID, grace_seconds: int | None
    ) -> tuple[Document, str]:
        endpoint = await self.endpoint_for(principal, endpoint_id)
        now = utcnow()
        grace = self.settings.secret_rotation_grace_seconds if grace_seconds is None else grace_seconds
        until = now + timedelta(seconds=grace)
        kept = []
        for s in endpoint.get("secrets", []):
            # Every earlier secret stops signing at the end of this grace period, or sooner if it was due.
            expires = until if s.get("expires_at") is None else min(s["expires_at"], until)
            if expires > now:
                kept.append({**s, "expires_at": expires})
        secret = new_secret()
        sealed = self.settings.secret_sealer.seal(secret)
        secrets_ = [{"secret": sealed, "created_at": now, "expires_at": None}, *kept][:5]
        updated = await self.repo.update_endpoint(
            endpoint_id, {"$set": {"secrets": secrets_, "updated_at": now}}
        )
        if updated is None:
            raise NotFound("no such webhook endpoint")
        return updated, secret

    # ---- operator API ----------------------------------------------------------------------------
    async def messages(
        self, *, principal: Principal, endpoint_id: UUID, status: str | None, after: UUID | None, limit: int
    ) -> list[Document]:
        await self.endpoint_for(principal, endpoint_id)
        return await self.repo.messages_of_endpoint(endpoint_id, status=status, after=after, limit=limit)

    async def attempts(self, *, principal: Principal, endpoint_id: UUID, message_id: UUID) -> list[Document]:
        await self.endpoint_for(principal, endpoint_id)
        message = await self.repo.get_message(message_id)
        if message is None or message["endpoint_id"] != endpoint_id:
            raise NotFound("no such message")
        return await self.repo.attempts_of_message(message_id)

    async def retry(self, *, principal: Principal, endpoint_id: UUID, message_id: UUID) -> Document:
        endpoint = await self.endpoint_for(principal, endpoint_id)
        _require_unreviewed(endpoint)
        if not endpoint["enabled"]:
            raise Conflict("the endpoint is disabled; enable it before retrying")
        message = await self.repo.get_message(message_id)
        if message is None or message["endpoint_id"] != endpoint_id:
            raise NotFound("no such message")
        if message["status"] == MessageStatus.PENDING.value:
            raise Conflict("the message is still being delivered")
        await self.repo.requeue({"_id": message_id}, utcnow())
        self.on_queued()
        requeued = await self.repo.get_message(message_id)
        assert requeued is not None
        return requeued

    async def replay(self, *, principal: Principal, endpoint_id: UUID, since: datetime) -> int:
        endpoint = await self.endpoint_for(principal, endpoint_id)
        _require_unreviewed(endpoint)
        if not endpoint["enabled"]:
            raise Conflict("the endpoint is disabled; enable it before replaying")
        now = utcnow()
        if since > now:
            raise InvalidInput("`since` is in the future", field="since")
        query = {
            "endpoint_id": endpoint_id,
            "status": MessageStatus.FAILED.value,
            "created_at": {"$gte": since},
        }
        replayed = await self.repo.requeue(query, now)
        if replayed:
            self.on_queued()
        return replayed

    async def send_test(self, *, principal: Principal, endpoint_id: UUID) -> Document:
        endpoint = await self.endpoint_for(principal, endpoint_id)
        _require_unreviewed(endpoint)
        if not endpoint["enabled"]:
            raise Conflict("the endpoint is disabled; enable it before testing")
        now = utcnow()
        doc = message_doc(
            endpoint=endpoint,
            event_id=new_event_id(),
            event_type=TEST_EVENT_TYPE,
            timestamp=now.isoformat(),
            data={"endpoint_id": str(endpoint_id), "message": "A test event from the Coalition Platform"},
            settings=self.settings,
            rng=self.rng,
        )
        doc["next_attempt_at"] = now

        async def work(session: Session) -> None:
            await self.repo.insert_messages([doc], session)

        await in_transaction(self.repo.db.client, work)
        self.on_queued()
        return doc

    async def stats(self, *, principal: Principal, endpoint_id: UUID, days: int) -> dict[str, Any]:
        endpoint = await self.endpoint_for(principal, endpoint_id)
        since = utcnow() - timedelta(days=days)
        raw = await self.repo.endpoint_stats(endpoint_id, since)
        ok = raw["by_outcome"].get("succeeded", {})
        ko = raw["by_outcome"].get("failed", {})
        succeeded, failed = int(ok.get("count", 0)), int(ko.get("count", 0))
        total = succeeded + failed
        return {
            "endpoint_id": endpoint_id,
            "since": since,
            "attempts": total,
            "succeeded": succeeded,
            "failed": failed,
            "success_rate": (succeeded / total) if total else None,
            "average_latency_ms": ok.get("latency"),
            "last_success_at": endpoint.get("last_success_at"),
            "failing_since": endpoint.get("failing_since"),
            "pending_messages": raw["pending"],
            "failed_messages": raw["failed"],
            "enabled": endpoint["enabled"],
            "disabled_reason": endpoint.get("disabled_reason"),
        }
