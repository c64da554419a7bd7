"""Reading Kafka as an operator: topics, offsets, committed positions, records in a range, CloudEvents shown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition


@dataclass(frozen=True)
class Record:
    """One Kafka record as the operator sees it."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Record:
        headers = {k: (v or b"").decode(errors="replace") for k, v in record.headers}
        return cls(
            record.topic,
            record.partition,
            record.offset,
            record.timestamp,
            record.key,
            record.value or b"",
            headers,
        )

    def event(self) -> dict[str, Any] | None:
        """The CloudEvent it carries, or None when the value is not a JSON object."""
        try:
            value = json.loads(self.value)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@asynccontextmanager
async def consumer(bootstrap_servers: str, *, group_id: str | None = None) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer with no subscription (assign partitions yourself); never commits on its own."""
    client = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=15000,
    )
    try:
        await client.start()
        yield client
    finally:
        await client.stop()


@asynccontextmanager
async def producer(bootstrap_servers: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=False)
    try:
        await client.start()
        yield client
    finally:
        await client.stop()


async def partitions(client: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics that exist (missing topics have none)."""
    existing = await client.topics()
    found: list[TopicPartition] = []
    for topic in topics:
        if topic in existing:
            found += [TopicPartition(topic, p) for p in sorted(client.partitions_for_topic(topic) or ())]
    return found


async def read_range(
    client: AIOKafkaConsumer, tps: list[TopicPartition], *, follow: bool = False, idle_seconds: float = 2.0
) -> AsyncIterator[Record]:
    """Records from the beginning of each partition up to its end now (or on and on with `follow`)."""
    if not tps:
        return
    client.assign(tps)
    await client.seek_to_beginning(*tps)
    ends = await client.end_offsets(tps)
    remaining = {tp for tp in tps if ends[tp] > await client.position(tp)}
    idle_since = asyncio.get_running_loop().time()
    while follow or remaining:
        batches = await client.getmany(*tps, timeout_ms=500)
        now = asyncio.get_running_loop().time()
        if batches:
            idle_since = now
        elif not follow and now - idle_since > max(idle_seconds, 30.0):
            raise TimeoutError(
                f"Kafka did not hand over records up to the end offsets of {sorted(map(str, remaining))}"
            )
        for tp, records in batches.items():
            for record in records:
                if not follow and record.offset >= ends[tp]:
                    remaining.discard(tp)
                    continue
                yield Record.of(record)
            if not follow and await client.position(tp) >= ends[tp]:
                remaining.discard(tp)


def short(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def pretty(record: Record) -> str:
    """A CloudEvent for a person: a heading line, its attributes, its data indented."""
    event = record.event()
    where = f"{record.topic}[{record.partition}]@{record.offset}"
    if event is None:
        return f"── {where}  (not a JSON object: {short(record.value.decode(errors='replace'))!r})"
    head = f"── {where}  {event.get('time', '?')}  {event.get('type', '?')}"
    lines = [head]
    for name in ("id", "source", "subject", "orgid", "coalitionid", "dataschema"):
        if event.get(name) is not None:
            lines.append(f"   {name:<12} {event[name]}")
    lines += [
        "   " + line for line in json.dumps(event.get("data", {}), indent=2, sort_keys=True).splitlines()
    ]
    return "\n".join(lines)
