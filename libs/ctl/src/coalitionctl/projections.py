"""Rebuilding a projection from its source topics: drop it, then re-consume them from the beginning.

The service's own consumer code does the work: its worker app is built (never started) and the consumer
group's handler is fed every record of the group's topics from the first offset to the end as it is when
the rebuild starts, like the live consumer would be. The consumer's inbox records are dropped with the
projection, so nothing is skipped as already seen. The group's committed offsets stay as they are: they
already point past what was replayed, and what arrives later is consumed live.

Stop (or scale to zero) the service's workers while it runs: a live consumer applying a newer event between
the drop and the replay of an older one could leave the older state. Re-running the rebuild is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coalitionctl.config import CtlSettings
from coalitionctl.kafka import Record, consumer, partitions, read_range
from coalitionctl.services import PROJECTIONS, Projection, groups_of, worker_app
from common.inbox import INBOX


@dataclass(frozen=True)
class Rebuilt:
    projection: Projection
    dropped: dict[str, int]
    inbox_dropped: int
    replayed: int


class _Message:
    """What a FastStream Kafka message offers the consumer's handler (common.kafka.subscribe_consumer)."""

    def __init__(self, record: Record) -> None:
        self.body = record.value
        self.headers = record.headers
        self.raw_message = _Raw(record)


class _Raw:
    def __init__(self, record: Record) -> None:
        self.topic = record.topic
        self.partition = record.partition
        self.offset = record.offset
        self.key = record.key


def find(service: str, name: str) -> Projection | None:
    return PROJECTIONS.get((service, name))


async def rebuild(settings: CtlSettings, projection: Projection, overrides: dict[str, Any]) -> Rebuilt:
    app = worker_app(projection.service, settings, **overrides)
    runtime = app.state.runtime
    group = next(g for g in groups_of(app, projection.service) if g.name == projection.group)
    db = runtime.db
    dropped: dict[str, int] = {}
    # The producer only: a message that is poison is dead-lettered again, as the live consumer would.
    await runtime.broker.connect()
    try:
        for collection in projection.collections:
            dropped[collection] = await db[collection].count_documents({})
            await db[collection].delete_many({})
        inbox = await db[INBOX].delete_many({"consumer": group.name})
        replayed = 0
        async with consumer(settings.kafka_bootstrap_servers) as client:
            tps = await partitions(client, group.topics)
            async for record in read_range(client, tps):
                message: Any = _Message(record)
                await group.handler(message)
                replayed += 1
        return Rebuilt(projection, dropped, inbox.deleted_count, replayed)
    finally:
        await runtime.broker.stop()
        await runtime.client.close()
