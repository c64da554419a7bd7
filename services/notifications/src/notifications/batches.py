"""Supporter actions in batches: the campaigns' busiest topic, consumed a partition's batch at a time.

A campaign that catches on records hundreds of actions a second, each a `campaigns.action.recorded`
that may become a webhook message for every entitled endpoint. One MongoDB transaction per event (the
generic `EventConsumer`) spends most of its time on round trips and, with one task for all partitions,
holds every partition behind the slowest event. Here each poll's records are grouped by partition;
the partitions are applied concurrently (one campaign lives on one partition: the topic is keyed by
campaign id, so no two of them write the same campaign), each in order, in chunks of
`chunk_events` events per transaction: one inbox read and insert for the chunk, one entitlement pass
per scope, the messages inserted together, and one wake-up of the delivery worker after commit.

Exactly once, as before: the inbox records `(consumer, event id)` in the chunk's transaction, so a
redelivered or replayed event is skipped; a chunk that keeps failing falls back to the generic consumer
one event at a time, which retries and dead-letters the event that cannot be applied, and the rest go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from common.events import CloudEvent, EventPayload, utcnow
from common.inbox import INBOX, EventConsumer, IncomingMessage
from common.mongo import Database, Document, Session, in_transaction
from notifications.intake import EventIntake
from notifications.wakeup import collecting_queued

log = logging.getLogger(__name__)

Wake = Callable[[str], None]
RETRY_SECONDS = (0.2, 1.0)


@dataclass(frozen=True)
class _Decoded:
    message: IncomingMessage
    event: CloudEvent
    payload: EventPayload


class ActionBatchConsumer:
    """Applies batches of `campaigns.actions.v1` records; `consumer` decodes, dead-letters and falls back.

    `legacy_names` are earlier consumer names whose inbox entries also count as processed (the actions
    topic used to be consumed by the `notifications-campaigns` group, one event at a time).
    """

    def __init__(
        self,
        *,
        consumer: EventConsumer,
        intake: Callable[[], EventIntake],
        client: AsyncMongoClient[Document],
        db: Database,
        wake: Mapping[str, Wake],
        legacy_names: Iterable[str] = (),
        chunk_events: int = 100,
    ) -> None:
        self.consumer = consumer
        self.intake = intake
        self.client = client
        self.db = db
        self.wake = wake
        self.names = (consumer.name, *legacy_names)
        self.chunk_events = chunk_events

    async def consume_batch(self, messages: list[IncomingMessage]) -> None:
        by_partition: dict[tuple[str, int], list[IncomingMessage]] = defaultdict(list)
        for message in messages:
            by_partition[(message.topic, message.partition)].append(message)
        await asyncio.gather(*(self._partition(batch) for batch in by_partition.values()))

    async def _partition(self, messages: list[IncomingMessage]) -> None:
        decoded: list[_Decoded] = []
        for message in messages:
            result = await self.consumer.decoded(message)
            if result is not None:
                decoded.append(_Decoded(message, *result))
        for start in range(0, len(decoded), self.chunk_events):
            await self._chunk(decoded[start : start + self.chunk_events])

    async def _chunk(self, chunk: list[_Decoded]) -> None:
        for pause in (*RETRY_SECONDS, None):
            try:
                with collecting_queued() as queued:
                    await in_transaction(self.client, lambda session: self._apply(chunk, session))
            except DuplicateKeyError:
                # A concurrent delivery of some of these events committed first: look again.
                continue
            except Exception:
                if pause is None:
                    break
                log.warning("%s: a batch failed; retrying in %ss", self.consumer.name, pause, exc_info=True)
                await asyncio.sleep(pause)
                continue
            for queue in queued:
                if queue in self.wake:
                    self.wake[queue]("consumer")
            return
        # Past the retries: one event at a time, so the one that cannot be applied is dead-lettered
        # with its error and the others are applied (the inbox skips any already done).
        for item in chunk:
            await self.consumer.consume(item.message)

    async def _apply(self, chunk: list[_Decoded], session: Session) -> None:
        ids = {item.event.id for item in chunk}
        inbox_ids = [f"{name}:{event_id}" for name in self.names for event_id in ids]
        done = {
            str(doc["_id"]).split(":", 1)[1]
            async for doc in self.db[INBOX].find({"_id": {"$in": inbox_ids}}, {"_id": 1}, session=session)
        }
        fresh: list[tuple[EventPayload, CloudEvent, Mapping[str, str]]] = []
        inbox: list[dict[str, Any]] = []
        now = utcnow()
        for item in chunk:
            if item.event.id in done:
                continue
            done.add(item.event.id)  # a duplicate within the batch counts once too
            fresh.append((item.payload, item.event, item.message.headers))
            inbox.append(
                {
                    "_id": f"{self.consumer.name}:{item.event.id}",
                    "consumer": self.consumer.name,
                    "type": item.event.type,
                    "received_at": now,
                }
            )
        if not fresh:
            return
        await self.db[INBOX].insert_many(inbox, session=session)
        await self.intake().handle_batch(fresh, session)
