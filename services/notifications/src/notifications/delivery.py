"""The webhook delivery worker: claims due messages with a lease, signs, sends, records, retries.

Pending messages live in MongoDB, so a restart loses nothing. A replica claims a due message by setting
a lease on it atomically; the others skip leased messages until the lease runs out, so an attempt is
made once (a replica that dies mid-attempt leaves a lease that expires, and the message is retried:
at-least-once, with the same `webhook-id` for the receiver to skip duplicates). Each attempt's outcome,
the message's next state and the published events commit in one transaction.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pymongo import AsyncMongoClient

from common.contracts import notifications as ev
from common.events import utcnow
from common.mongo import Document, Session, in_transaction
from common.outbox import Outbox
from notifications.config import Settings
from notifications.domain.addresses import IPAddress
from notifications.domain.notices import Notice
from notifications.domain.webhooks import (
    AttemptOutcome,
    MessageStatus,
    is_success,
    next_attempt_after,
    retry_after_seconds,
    signature_header,
    webhook_id,
)
from notifications.notices import NoticeService, new_id
from notifications.repository import ORGANIZATIONS, Repository
from notifications.service import active_secrets
from notifications.ssrf import AddressRefused, Resolver, checked_address

log = logging.getLogger(__name__)
USER_AGENT = "CoalitionPlatform-Webhooks/1.0"


class LeaseLost(Exception):
    """Another replica took the message over (our lease expired); our outcome is not recorded."""


@dataclass(frozen=True)
class Response:
    status: int | None
    latency_ms: int
    snippet: str | None
    error: str | None
    retry_after: float | None


def pinned_request(url: str, address: IPAddress) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by the checked address, the Host header, and the TLS server name.

    Connecting to the address that was checked (rather than resolving the name again) closes the
    DNS-rebinding gap between the check and the connection.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return (
        urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        {"Host": host_header},
        extensions,
    )


class DeliveryWorker:
    def __init__(
        self,
        *,
        client: AsyncMongoClient[Document],
        repo: Repository,
        outbox: Outbox,
        notices: NoticeService,
        settings: Settings,
        resolver: Resolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client = client
        self.repo = repo
        self.outbox = outbox
        self.notices = notices
        self.settings = settings
        self.resolver = resolver
        self.owner = f"delivery-{uuid.uuid4().hex[:12]}"
        self.rng = random.Random()  # noqa: S311 - jitter, not cryptography
        self.http = httpx.AsyncClient(
            follow_redirects=False,
            timeout=settings.delivery_timeout_seconds,
            trust_env=False,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def run(self) -> None:
        while True:
            try:
                done = await self.deliver_due()
            except Exception:
                log.exception("webhook delivery round failed; will retry")
                done = 0
            if done == 0:
                await asyncio.sleep(self.settings.delivery_poll_seconds)

    async def deliver_due(self) -> int:
        """Claim up to `delivery_concurrency` due messages and attempt them concurrently."""
        claimed: list[Document] = []
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.delivery_lease_seconds)
        for _ in range(self.settings.delivery_concurrency):
            message = await self.repo.claim_due(now=now, lease_until=lease_until, owner=self.owner)
            if message is None:
                break
            claimed.append(message)
        if claimed:
            await asyncio.gather(*(self.attempt(m) for m in claimed))
        return len(claimed)

    async def attempt(self, message: Document) -> None:
        try:
            await self._attempt(message)
        except asyncio.CancelledError:
            # Shutting down mid-attempt: hand the message back at once rather than when the lease ends.
            await asyncio.shield(self.repo.release(message["_id"], self.owner, utcnow()))
            raise
        except LeaseLost:
            log.warning("lost the lease on message %s; another replica owns it", message["_id"])
        except Exception:
            log.exception("attempt at message %s failed unexpectedly", message["_id"])
            await self.repo.release(message["_id"], self.owner, utcnow() + timedelta(seconds=5))

    async def _attempt(self, message: Document) -> None:
        endpoint = await self.repo.get_endpoint(message["endpoint_id"])
        if endpoint is None or not endpoint["enabled"]:
            await self._record(message, endpoint, None, gave_up="the endpoint is disabled or deleted")
            return
        rate = float(endpoint.get("rate_per_second") or self.settings.endpoint_rate_per_second)
        busy_until = await self.repo.take_send_slot(endpoint["_id"], utcnow(), max(1, int(1000 / rate)))
        if busy_until is not None:
            await self.repo.release(message["_id"], self.owner, busy_until)
            return
        response = await self._send(message, endpoint)
        await self._record(message, endpoint, response)

    async def _send(self, message: Document, endpoint: Document) -> Response:
        started = time.perf_counter()

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            address = await checked_address(
                endpoint["url"], resolver=self.resolver, allow_loopback=self.settings.allow_loopback_endpoints
            )
        except AddressRefused as exc:
            return Response(None, elapsed(), None, f"refused: {exc}", None)
        body = json.dumps(message["payload"], separators=(",", ":"), ensure_ascii=False).encode()
        msg_id = webhook_id(message["_id"])
        timestamp = int(time.time())
        url, host, extensions = pinned_request(endpoint["url"], address)
        headers = {
            **host,
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                active_secrets(endpoint, utcnow()), msg_id=msg_id, timestamp=timestamp, body=body
            ),
        }
        limit = self.settings.response_snippet_bytes
        try:
            async with asyncio.timeout(self.settings.delivery_timeout_seconds):
                async with self.http.stream(
                    "POST", url, content=body, headers=headers, extensions=extensions
                ) as response:
                    collected = b""
                    async for chunk in response.aiter_bytes():
                        collected += chunk
                        if len(collected) >= limit:
                            break
            snippet = collected[:limit].decode("utf-8", errors="replace") if limit else None
            retry_after = retry_after_seconds(response.headers.get("retry-after"), utcnow())
            return Response(response.status_code, elapsed(), snippet, None, retry_after)
        except TimeoutError:
            return Response(None, elapsed(), None, "timeout", None)
        except httpx.HTTPError as exc:
            return Response(None, elapsed(), None, f"{type(exc).__name__}: {exc}"[:500], None)

    async def _record(
        self, message: Document, endpoint: Document | None, response: Response | None, *, gave_up: str = ""
    ) -> None:
        now = utcnow()
        attempt_no = int(message.get("attempt_count", 0)) + 1
        retention = now + timedelta(days=self.settings.message_retention_days)
        changes: dict[str, Any] = {}
        succeeded = response is not None and response.status is not None and is_success(response.status)
        gone = response is not None and response.status == 410
        disable_reason: str | None = None
        next_at: datetime | None = None
        endpoint_update: dict[str, Any] = {}

        if succeeded:
            changes = {"status": MessageStatus.SUCCEEDED.value, "expires_at": retention, "last_error": None}
            endpoint_update = {"$set": {"last_success_at": now, "failing_since": None}}
        else:
            if response is not None and not gone:
                next_at = next_attempt_after(
                    self.settings.retry_schedule_seconds,
                    attempt_no,
                    now=now,
                    retry_after=response.retry_after if response.status in (429, 503) else None,
                    retry_after_max=self.settings.retry_after_max_seconds,
                    jitter=self.settings.retry_jitter_ratio,
                    rng=self.rng,
                )
            if endpoint is not None and response is not None:
                failing_since = endpoint.get("failing_since") or now
                endpoint_update = {"$set": {"failing_since": failing_since}}
                if gone:
                    disable_reason = "gone"
                elif (now - failing_since).total_seconds() >= self.settings.disable_after_failing_seconds:
                    disable_reason = "failing"
                    next_at = None
            if next_at is None:
                changes = {"status": MessageStatus.FAILED.value, "expires_at": retention}
            else:
                changes = {"next_attempt_at": next_at}
            changes["last_error"] = gave_up or _describe(response)
        if response is not None:
            changes["last_status_code"] = response.status

        async def work(session: Session) -> None:
            if not await self.repo.finish_attempt(message["_id"], self.owner, changes, session):
                raise LeaseLost(str(message["_id"]))
            if response is not None:
                await self.repo.insert_attempt(
                    {
                        "_id": new_id(),
                        "message_id": message["_id"],
                        "endpoint_id": message["endpoint_id"],
                        "attempt": attempt_no,
                        "worker": self.owner,
                        "at": now,
                        "outcome": (AttemptOutcome.SUCCEEDED if succeeded else AttemptOutcome.FAILED).value,
                        "status_code": response.status,
                        "latency_ms": response.latency_ms,
                        "response_snippet": response.snippet,
                        "error": response.error,
                        "expires_at": retention,
                    },
                    session,
                )
            if endpoint is not None and endpoint_update:
                await self.repo.update_endpoint(endpoint["_id"], endpoint_update, session)
            await self._publish(message, attempt_no, response, succeeded, next_at, gave_up, session)
            if endpoint is not None and disable_reason is not None:
                await self._disable(
                    endpoint, disable_reason, endpoint_update["$set"]["failing_since"], session
                )

        await in_transaction(self.client, work)

    async def _publish(
        self,
        message: Document,
        attempt_no: int,
        response: Response | None,
        succeeded: bool,
        next_at: datetime | None,
        gave_up: str,
        session: Session,
    ) -> None:
        common: dict[str, Any] = {
            "endpoint_id": message["endpoint_id"],
            "organization_id": message["org_id"],
            "message_id": message["_id"],
            "delivered_event_id": message["event_id"],
            "delivered_type": message["event_type"],
            "attempt": attempt_no,
            "status_code": response.status if response else None,
            "latency_ms": response.latency_ms if response else None,
            "error": gave_up or (_describe(response) if not succeeded else None),
        }
        key = str(message["endpoint_id"])
        subject = f"messages/{message['_id']}"
        orgid = str(message["org_id"])
        if succeeded:
            await self.outbox.add(
                session, ev.DeliverySucceeded(**common), key=key, subject=subject, orgid=orgid
            )
            return
        if response is not None:
            failed = ev.DeliveryFailed(**common, next_attempt_at=next_at)
            await self.outbox.add(session, failed, key=key, subject=subject, orgid=orgid)
        gone = response is not None and response.status == 410
        if next_at is None and not gone:
            exhausted = ev.DeliveryExhausted(**common)
            await self.outbox.add(session, exhausted, key=key, subject=subject, orgid=orgid)

    async def _disable(
        self, endpoint: Document, reason: str, failing_since: datetime, session: Session
    ) -> None:
        await self.repo.update_endpoint(
            endpoint["_id"],
            {"$set": {"enabled": False, "disabled_reason": reason, "updated_at": utcnow()}},
            session,
        )
        await self.repo.fail_pending_of_endpoint(endpoint["_id"], "the endpoint was disabled", session)
        disabled = ev.EndpointDisabled(
            endpoint_id=endpoint["_id"],
            organization_id=endpoint["org_id"],
            reason="gone" if reason == "gone" else "failing",
            failing_since=failing_since,
        )
        event = await self.outbox.add(
            session,
            disabled,
            key=str(endpoint["_id"]),
            subject=f"endpoints/{endpoint['_id']}",
            orgid=str(endpoint["org_id"]),
        )
        org = await self.repo.find_one(ORGANIZATIONS, {"_id": endpoint["org_id"]}, session)
        reason_text = (
            "the receiver answered 410 Gone"
            if reason == "gone"
            else f"every delivery failed since {failing_since:%Y-%m-%d %H:%M} UTC"
        )
        notice = Notice(
            "endpoint_disabled",
            {
                "url": endpoint["url"],
                "org_name": (org or {}).get("name", "your organization"),
                "reason_text": reason_text,
            },
        )
        await self.notices.notify_orgs([endpoint["org_id"]], notice, event_id=event.id, session=session)


def _describe(response: Response | None) -> str | None:
    if response is None:
        return None
    if response.error:
        return response.error
    return f"HTTP {response.status}"
