"""The webhook delivery worker: woken when messages are queued, claims due ones in batches, sends several
at once, records each outcome, retries on schedule.

Pending messages live in MongoDB, so a restart loses nothing. A replica claims due messages in a batch by
setting a lease on each atomically (`Repository.claim_due`); the others skip leased messages until the
lease runs out, so an attempt is made once (a replica that dies mid-attempt leaves a lease that expires,
and the message is retried: at-least-once, with the same `webhook-id` for the receiver to skip
duplicates). Each attempt's outcome, the message's next state and the published events commit in one
transaction. The worker is woken by the consumer that queued a message (after its commit), by the change
stream on `messages` (another replica's or the API's), at the next retry it scheduled, and by polling
as the fallback. Up to `delivery_concurrency` attempts run at once, at most `endpoint_concurrency` per
endpoint, each request taking a slot of the endpoint's rate limit shared by all replicas.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from opentelemetry import propagate
from pymongo import AsyncMongoClient

from common.contracts import notifications as ev
from common.events import EventPayload, utcnow
from common.mongo import Document, Session, in_transaction
from common.outbox import Outbox
from notifications.config import Settings
from notifications.domain.notices import Notice
from notifications.domain.webhooks import (
    AttemptOutcome,
    MessageStatus,
    is_success,
    next_attempt_after,
)
from notifications.notices import NoticeService, new_id
from notifications.repository import MESSAGES, ORGANIZATIONS, Repository
from notifications.ssrf import Resolver
from notifications.wakeup import Wakeup
from notifications.webhook_client import Response, WebhookClient

log = logging.getLogger(__name__)

# How far ahead a replica may book an endpoint's request slots (and wait for them, holding the lease).
SLOT_HORIZON = timedelta(seconds=1)

# What wakes the worker on the change stream: a new message, a message queued again (retry, replay),
# and one handed back unattempted (a replica shutting down, or a rate-limit wait).
QUEUED_MESSAGES: list[dict[str, Any]] = [
    {
        "$match": {
            "$or": [
                {"operationType": "insert"},
                {"operationType": "update", "updateDescription.updatedFields.status": "pending"},
                {
                    "operationType": "update",
                    "updateDescription.updatedFields.lease_owner": {"$type": "null"},
                    "updateDescription.updatedFields.attempt_count": {"$exists": False},
                },
            ]
        }
    },
    {"$project": {"_id": 1}},
]


# At most this many finished attempts are recorded in one transaction.
RECORD_BATCH = 256


@dataclass
class _Outcome:
    """What one attempt changes: the message, its attempt record, the endpoint, the events it publishes."""

    message: Document
    endpoint: Document | None
    now: datetime
    changes: dict[str, Any]
    attempt: Document | None
    succeeded: bool
    noted: bool  # the endpoint's success/failure state takes this outcome into account
    events: list[tuple[EventPayload, str, str, str | None]]
    trace: dict[str, str]
    disable_reason: str | None
    failing_since: datetime | None


class LeaseLost(Exception):
    """Another replica took the message over (our lease expired); our outcome is not recorded."""


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
        self.owner = f"delivery-{uuid.uuid4().hex[:12]}"
        self.rng = random.Random()  # noqa: S311 - jitter, not cryptography
        self.sender = WebhookClient(settings=settings, resolver=resolver, transport=transport)
        self.wakeup = Wakeup(db=repo.db, collection=MESSAGES, pipeline=QUEUED_MESSAGES)
        self._running: dict[UUID, asyncio.Task[None]] = {}
        self._per_endpoint: Counter[UUID] = Counter()
        self._last_start: dict[UUID, float] = {}  # monotonic start of the latest request per endpoint
        self._finished: list[tuple[_Outcome, asyncio.Future[None]]] = []  # outcomes waiting to be written
        self._flusher: asyncio.Task[None] | None = None

    def wake(self, cause: str = "local") -> None:
        """New work was queued in this process (and committed): look for it now."""
        self.wakeup.signal(cause)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def close(self) -> None:
        await self.sender.close()

    async def run(self) -> None:
        poll = self.settings.delivery_poll_seconds
        try:
            await self.wakeup.run_passes(self.deliver_due, poll=poll, what="webhook delivery round")
        finally:
            running = list(self._running.values())
            for task in running:
                task.cancel()  # each hands its message back (see `attempt`)
            await asyncio.gather(*running, return_exceptions=True)
            if self._flusher is not None:
                await asyncio.gather(self._flusher, return_exceptions=True)

    async def deliver_due(self) -> float:
        """Claim due messages up to the free capacity and start them; the seconds until work may be due."""
        poll = self.settings.delivery_poll_seconds
        free = self.settings.delivery_concurrency - len(self._running)
        if free <= 0:
            return poll  # a finishing attempt wakes the loop
        now = utcnow()
        claimed = await self.repo.claim_due(
            MESSAGES,
            now=now,
            lease_until=now + timedelta(seconds=self.settings.delivery_lease_seconds),
            owner=self.owner,
            limit=free,
            held=list(self._running),
            group_by="endpoint_id",
            group_cap=self.settings.endpoint_concurrency,
            group_load=self._per_endpoint,
        )
        if claimed:
            await self._start(claimed)
            return 0.0  # there may be more
        return await self.repo.seconds_until_due(MESSAGES, now, poll=poll)

    async def _start(self, claimed: list[Document]) -> None:
        by_endpoint: dict[UUID, list[Document]] = {}
        for message in claimed:
            by_endpoint.setdefault(message["endpoint_id"], []).append(message)
        endpoints = await self.repo.endpoints_by_id(list(by_endpoint))
        for endpoint_id, messages in by_endpoint.items():
            endpoint = endpoints.get(endpoint_id)
            if endpoint is None or not endpoint["enabled"]:
                for message in messages:
                    self._spawn(message, endpoint, None)
                continue
            for message, slot in await self._book_slots(endpoint, messages):
                self._spawn(message, endpoint, slot)

    async def _book_slots(
        self, endpoint: Document, messages: list[Document]
    ) -> list[tuple[Document, datetime]]:
        """Request slots of the endpoint's rate limit for as many messages as fit; the rest go back."""
        rate = self._rate(endpoint)
        interval_ms = max(1, round(1000 / rate))
        fitting = max(1, int(SLOT_HORIZON.total_seconds() * rate))
        taking, returning = messages[:fitting], messages[fitting:]
        now = utcnow()
        first, free_at = await self.repo.reserve_send_slots(
            endpoint["_id"], now=now, interval_ms=interval_ms, count=len(taking), horizon=SLOT_HORIZON
        )
        if first is None:
            returning = messages
        # Not an attempt: back in the queue for when the endpoint's slots are free again.
        again_at = max(now, free_at - SLOT_HORIZON)
        for message in returning:
            await self.repo.release(message["_id"], self.owner, again_at)
        if first is None:
            return []
        step = timedelta(milliseconds=interval_ms)
        return [(message, first + i * step) for i, message in enumerate(taking)]

    def _spawn(self, message: Document, endpoint: Document | None, slot: datetime | None) -> None:
        message_id = message["_id"]
        endpoint_id = message["endpoint_id"]
        task = asyncio.create_task(self.attempt(message, endpoint, slot))
        self._running[message_id] = task
        self._per_endpoint[endpoint_id] += 1

        def finished(_: asyncio.Task[None]) -> None:
            self._running.pop(message_id, None)
            self._per_endpoint[endpoint_id] -= 1
            if self._per_endpoint[endpoint_id] <= 0:
                del self._per_endpoint[endpoint_id]
            self.wakeup.signal("attempt-finished")

        task.add_done_callback(finished)

    async def _keep_spacing(self, endpoint: Document) -> None:
        """Start no request to the endpoint sooner after this replica's previous one than its rate allows.

        The booked slots already space requests; this keeps a late wake-up from the slot's sleep (a busy
        event loop) from squeezing the next request right behind a delayed one.
        """
        spacing = 1 / self._rate(endpoint)
        while True:
            wait = self._last_start.get(endpoint["_id"], -spacing) + spacing - time.monotonic()
            if wait <= 0:
                now = time.monotonic()
                if len(self._last_start) > 10_000:  # forget endpoints not sent to for a while
                    self._last_start = {k: v for k, v in self._last_start.items() if now - v < 60}
                self._last_start[endpoint["_id"]] = now
                return
            await asyncio.sleep(wait)

    def _rate(self, endpoint: Document) -> float:
        return float(endpoint.get("rate_per_second") or self.settings.endpoint_rate_per_second)

    async def attempt(self, message: Document, endpoint: Document | None, slot: datetime | None) -> None:
        try:
            if endpoint is None or not endpoint["enabled"]:
                await self._record(message, endpoint, None, gave_up="the endpoint is disabled or deleted")
                return
            if slot is not None:
                await asyncio.sleep((slot - utcnow()).total_seconds())
                await self._keep_spacing(endpoint)
            started_at = utcnow()
            response = await self.sender.send(message, endpoint)
            await self._record_batched(message, endpoint, response, slot=slot, started_at=started_at)
        except asyncio.CancelledError:
            # Shutting down mid-attempt: hand the message back at once rather than when the lease ends.
            await asyncio.shield(self.repo.release(message["_id"], self.owner, utcnow()))
            raise
        except LeaseLost:
            log.warning("lost the lease on message %s; another replica owns it", message["_id"])
        except Exception:
            log.exception("attempt at message %s failed unexpectedly", message["_id"])
            await self.repo.release(message["_id"], self.owner, utcnow() + timedelta(seconds=5))

    async def _record(
        self,
        message: Document,
        endpoint: Document | None,
        response: Response | None,
        *,
        gave_up: str = "",
        slot: datetime | None = None,
        started_at: datetime | None = None,
    ) -> None:
        """Record one attempt's outcome in its own transaction."""
        await self._write_alone(
            self._outcome(message, endpoint, response, gave_up=gave_up, slot=slot, started_at=started_at)
        )

    async def _write_together(self, outcomes: list[_Outcome]) -> None:
        await in_transaction(self.client, lambda session: self._write_many(outcomes, session))

    async def _write_alone(self, outcome: _Outcome) -> None:
        await in_transaction(self.client, lambda session: self._write_one(outcome, session))

    async def _record_batched(
        self,
        message: Document,
        endpoint: Document | None,
        response: Response | None,
        *,
        slot: datetime | None,
        started_at: datetime | None,
    ) -> None:
        """Record an attempt's outcome together with the others finishing meanwhile (one transaction for
        the batch). Outcomes that disable the endpoint are recorded alone, as before."""
        outcome = self._outcome(message, endpoint, response, slot=slot, started_at=started_at)
        if outcome.disable_reason is not None or endpoint is None:
            await self._write_alone(outcome)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # An attempt cancelled while waiting (shutdown) no longer reads its verdict; retrieve it anyway.
        done.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        self._finished.append((outcome, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        """Write the finished attempts in batches until none is waiting."""
        while self._finished:
            batch, self._finished = self._finished[:RECORD_BATCH], self._finished[RECORD_BATCH:]
            try:
                await self._write_together([outcome for outcome, _ in batch])
            except Exception:
                # A lease lost (another replica took a message over) or a failed write: one at a time,
                # so each attempt gets its own verdict (LeaseLost, or the error) as before.
                for outcome, done in batch:
                    try:
                        await self._write_alone(outcome)
                    except Exception as exc:
                        if not done.done():
                            done.set_exception(exc)
                    else:
                        if not done.done():
                            done.set_result(None)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    def _outcome(
        self,
        message: Document,
        endpoint: Document | None,
        response: Response | None,
        *,
        gave_up: str = "",
        slot: datetime | None = None,
        started_at: datetime | None = None,
    ) -> _Outcome:
        now = utcnow()
        attempt_no = int(message.get("attempt_count", 0)) + 1
        retention = now + timedelta(days=self.settings.message_retention_days)
        changes: dict[str, Any] = {}
        succeeded = response is not None and response.status is not None and is_success(response.status)
        gone = response is not None and response.status == 410
        disable_reason: str | None = None
        next_at: datetime | None = None
        failing_since: datetime | None = None

        if succeeded:
            changes = {"status": MessageStatus.SUCCEEDED.value, "expires_at": retention, "last_error": None}
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
        attempt: Document | None = None
        if response is not None:
            attempt = {
                "_id": new_id(),
                "message_id": message["_id"],
                "endpoint_id": message["endpoint_id"],
                "attempt": attempt_no,
                "worker": self.owner,
                "at": now,
                "slot_at": slot,  # the rate limit's booked slot, shared by all replicas
                "started_at": started_at,
                "outcome": (AttemptOutcome.SUCCEEDED if succeeded else AttemptOutcome.FAILED).value,
                "status_code": response.status,
                "latency_ms": response.latency_ms,
                "response_snippet": response.snippet,
                "error": response.error,
                "expires_at": retention,
            }
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # the attempt's trace, for the events it publishes
        return _Outcome(
            message=message,
            endpoint=endpoint,
            now=now,
            changes=changes,
            attempt=attempt,
            succeeded=succeeded,
            noted=endpoint is not None and response is not None,
            events=self._events(message, attempt_no, response, succeeded, next_at, gave_up),
            trace=carrier,
            disable_reason=disable_reason,
            failing_since=failing_since,
        )

    async def _write_one(self, outcome: _Outcome, session: Session) -> None:
        message, endpoint = outcome.message, outcome.endpoint
        if not await self.repo.finish_attempt(message["_id"], self.owner, outcome.changes, session):
            raise LeaseLost(str(message["_id"]))
        if outcome.attempt is not None:
            await self.repo.insert_attempt(outcome.attempt, session)
        if endpoint is not None and outcome.noted:
            await self.repo.note_outcome(
                endpoint["_id"], succeeded=outcome.succeeded, now=outcome.now, session=session
            )
        await self.outbox.add_unordered(session, [(*e, outcome.trace) for e in outcome.events])
        if endpoint is not None and outcome.disable_reason is not None:
            assert outcome.failing_since is not None
            await self._disable(endpoint, outcome.disable_reason, outcome.failing_since, session)

    async def _write_many(self, outcomes: list[_Outcome], session: Session) -> None:
        """The outcomes of many attempts (none disabling its endpoint) in the caller's transaction: one
        bulk update of the messages (each only if this worker still holds its lease), one insert of the
        attempts, one endpoint update per endpoint (its latest outcome), one insert of the events."""
        finished = await self.repo.finish_attempts(
            [(o.message["_id"], o.changes) for o in outcomes], self.owner, session
        )
        if finished != len(outcomes):
            raise LeaseLost(f"{len(outcomes) - finished} of a batch")
        await self.repo.insert_attempts([o.attempt for o in outcomes if o.attempt is not None], session)
        latest: dict[UUID, _Outcome] = {}
        for o in outcomes:
            if o.endpoint is not None and o.noted:
                latest[o.endpoint["_id"]] = o
        for endpoint_id, o in latest.items():
            await self.repo.note_outcome(endpoint_id, succeeded=o.succeeded, now=o.now, session=session)
        await self.outbox.add_unordered(session, [(*e, o.trace) for o in outcomes for e in o.events])

    def _events(
        self,
        message: Document,
        attempt_no: int,
        response: Response | None,
        succeeded: bool,
        next_at: datetime | None,
        gave_up: str,
    ) -> list[tuple[EventPayload, str, str, str | None]]:
        """The delivery events of an attempt: (payload, key, subject, orgid) each.

        Unordered: no per-endpoint sequence counter, which every attempt to a busy endpoint would take
        (and conflict on). Each event carries its message id and attempt number; a message's attempts
        are seconds apart, so they are published in their order all the same.
        """
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
            return [(ev.DeliverySucceeded(**common), key, subject, orgid)]
        events: list[tuple[EventPayload, str, str, str | None]] = []
        if response is not None:
            events.append((ev.DeliveryFailed(**common, next_attempt_at=next_at), key, subject, orgid))
        gone = response is not None and response.status == 410
        if next_at is None and not gone:
            events.append((ev.DeliveryExhausted(**common), key, subject, orgid))
        return events

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
