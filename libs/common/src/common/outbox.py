"""Transactional outbox: events are staged in the same transaction as the state change, then relayed.

Each record carries its topic, its key (the aggregate id) and, when the aggregate's events must keep
their order, a per-key sequence number taken from a counter document in the same transaction. Because
two transactions that take the same key's counter conflict, a committed record with sequence N implies
every record of that key below N is committed too, so relaying a key's pending records in sequence
order keeps per-aggregate order. Events whose order does not matter (each supporter action stands on
its own) are staged unordered: no counter, so concurrent transactions of one key never conflict on it;
the key still chooses the Kafka partition. One relay at a
time holds a lease; any replica takes over when the lease expires. Delivery is at-least-once: a crash
between publish and mark-sent publishes again, and consumers skip what their inbox has seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from opentelemetry import propagate, trace
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from common.events import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, EventPayload, make_event, utcnow
from common.mongo import Database, Document, Indexes, Session

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

OUTBOX = "outbox"
OUTBOX_KEYS = "outbox_keys"
OUTBOX_LEASE = "outbox_lease"
PENDING, SENT = "pending", "sent"

OUTBOX_INDEXES = (
    Indexes(
        OUTBOX,
        (
            IndexModel([("status", ASCENDING), ("_id", ASCENDING)], name="pending_in_order"),
            IndexModel(
                [("key", ASCENDING), ("seq", ASCENDING)],
                name="key_seq_ordered",
                unique=True,
                partialFilterExpression={"seq": {"$exists": True}},
            ),
            IndexModel([("key", ASCENDING), ("status", ASCENDING)], name="pending_by_key"),
            IndexModel([("sent_at", ASCENDING)], name="sent_ttl", expireAfterSeconds=7 * 24 * 3600),
        ),
    ),
)


LEGACY_INDEXES = {OUTBOX: ("key_seq",)}  # replaced by key_seq_ordered (unordered records have no seq)


async def drop_legacy_indexes(db: Database) -> None:
    """Drop outbox indexes of earlier versions that would refuse unordered records."""
    for collection, names in LEGACY_INDEXES.items():
        existing = await db[collection].index_information()
        for name in names:
            if name in existing:
                await db[collection].drop_index(name)


async def stage_event(
    db: Database, session: Session, *, topic: str, key: str, event: CloudEvent, ordered: bool = True
) -> None:
    """Record `event` for publication, inside the caller's transaction.

    `ordered=False` skips the key's sequence counter: the event is published after the key's
    earlier records are picked up, but in no guaranteed order among other unordered records.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    record: Document = {
        "topic": topic,
        "key": key,
        "event": event.model_dump(mode="json", exclude_none=True),
        "trace": carrier,
        "status": PENDING,
        "created_at": utcnow(),
    }
    if ordered:
        counter = await db[OUTBOX_KEYS].find_one_and_update(
            {"_id": key},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert counter is not None
        record["seq"] = counter["seq"]
    await db[OUTBOX].insert_one(record, session=session)


class EventSink(Protocol):
    """Where the relay publishes: a Kafka broker in production."""

    async def publish(
        self,
        message: Any,
        topic: str = "",
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any: ...


class Outbox:
    """Stages a service's events with its transactions; the service's events all go through here."""

    def __init__(self, db: Database, *, source: str) -> None:
        self.db = db
        self.source = source

    async def add(
        self,
        session: Session,
        payload: EventPayload,
        *,
        key: str,
        subject: str,
        orgid: str | None = None,
        coalitionid: str | None = None,
        ordered: bool = True,
    ) -> CloudEvent:
        event = make_event(payload, source=self.source, subject=subject, orgid=orgid, coalitionid=coalitionid)
        await stage_event(self.db, session, topic=payload.topic, key=key, event=event, ordered=ordered)
        return event

    async def add_unordered(
        self, session: Session, staged: list[tuple[EventPayload, str, str, str | None, dict[str, str]]]
    ) -> None:
        """Stage many unordered events with one insert: (payload, key, subject, orgid, trace carrier)
        each, the carrier being the trace context the event belongs to (captured where it happened)."""
        records: list[Document] = []
        now = utcnow()
        for payload, key, subject, orgid, carrier in staged:
            event = make_event(payload, source=self.source, subject=subject, orgid=orgid)
            records.append(
                {
                    "topic": payload.topic,
                    "key": key,
                    "event": event.model_dump(mode="json", exclude_none=True),
                    "trace": carrier,
                    "status": PENDING,
                    "created_at": now,
                }
            )
        if records:
            await self.db[OUTBOX].insert_many(records, session=session)


class OutboxRelay:
    """Publishes pending outbox records in order per key, then marks them sent."""

    def __init__(
        self,
        db: Database,
        sink: EventSink,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 200,
        lease_seconds: float = 10.0,
        concurrency: int = 16,
    ) -> None:
        self.db = db
        self.sink = sink
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = str(uuid.uuid4())
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._limit = asyncio.Semaphore(concurrency)

    async def hold_lease(self) -> bool:
        """Take or renew the single relay lease; False while another relay holds it."""
        now = utcnow()
        try:
            await self.db[OUTBOX_LEASE].find_one_and_update(
                {"_id": "relay", "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + self.lease}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def release_lease(self) -> None:
        with contextlib.suppress(PyMongoError):
            await self.db[OUTBOX_LEASE].delete_one({"_id": "relay", "owner": self.owner})

    async def publish_pending(self) -> int:
        """One pass: relay what is pending now. Returns how many records were published."""
        cursor = self.db[OUTBOX].find({"status": PENDING}, {"key": 1}).sort("_id", ASCENDING)
        keys: dict[str, None] = {}
        async for record in cursor.limit(self.batch_size):
            keys.setdefault(record["key"], None)
        counts = await asyncio.gather(*(self._publish_key(key) for key in keys))
        return sum(counts)

    async def _publish_key(self, key: str) -> int:
        async with self._limit:
            records = (
                await self.db[OUTBOX]
                .find({"key": key, "status": PENDING})
                .sort([("seq", ASCENDING), ("_id", ASCENDING)])
                .to_list()
            )
            published: list[Any] = []
            try:
                # Unordered records (no seq: they sort first) go out together; ordered ones one by one.
                unordered = [r for r in records if "seq" not in r]
                for chunk in range(0, len(unordered), 256):
                    batch = unordered[chunk : chunk + 256]
                    await asyncio.gather(*(self._publish(r) for r in batch))
                    published.extend(r["_id"] for r in batch)
                for record in records[len(unordered) :]:
                    await self._publish(record)
                    published.append(record["_id"])
            except Exception:
                log.exception("outbox relay: publishing key %s failed; will retry", key)
            finally:
                if published:
                    await self.db[OUTBOX].update_many(
                        {"_id": {"$in": published}}, {"$set": {"status": SENT, "sent_at": utcnow()}}
                    )
            return len(published)

    async def _publish(self, record: Document) -> None:
        event = CloudEvent.model_validate(record["event"])
        parent = propagate.extract(record.get("trace") or {})
        with tracer.start_as_current_span(
            f"outbox relay {record['topic']}", context=parent, kind=trace.SpanKind.INTERNAL
        ):
            await self.sink.publish(
                event.to_bytes(),
                topic=record["topic"],
                key=record["key"].encode(),
                headers={
                    "content-type": CLOUDEVENTS_CONTENT_TYPE,
                    "ce-type": event.type,
                    "ce-id": event.id,
                },
            )

    async def run(self) -> None:
        """Relay until cancelled: woken by the change stream, polling as a fallback."""
        while True:
            try:
                if await self.hold_lease():
                    published = await self.publish_pending()
                    if published >= self.batch_size:
                        continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed")
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # races with its own timeout, and then stop() would wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()

    async def _watch_inserts(self) -> None:
        while True:
            try:
                pipeline = [{"$match": {"operationType": "insert"}}]
                async with await self.db[OUTBOX].watch(pipeline) as stream:
                    async for _ in stream:
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox change stream unavailable; polling every %ss", self.poll_interval)
                await asyncio.sleep(max(self.poll_interval, 5.0))

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.run()), asyncio.create_task(self._watch_inserts())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.release_lease()


__all__: Sequence[str] = ("OUTBOX_INDEXES", "Outbox", "OutboxRelay", "drop_legacy_indexes", "stage_event")


class TopicPublishers:
    """Publishes through the documented publisher of each topic (so AsyncAPI lists them)."""

    def __init__(self, fallback: EventSink, publishers: dict[str, Any]) -> None:
        self.fallback = fallback
        self.publishers = publishers

    async def publish(
        self,
        message: Any,
        topic: str = "",
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        publisher = self.publishers.get(topic)
        if publisher is None:
            return await self.fallback.publish(message, topic=topic, key=key, headers=headers)
        return await publisher.publish(message, key=key, headers=headers)
