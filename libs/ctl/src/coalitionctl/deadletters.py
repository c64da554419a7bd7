"""The dead-letter topics (`deadletter.<consumer>.v1`): what is in them, one message in full, replay."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition

from coalitionctl.kafka import Record, consumer, partitions, producer, read_range
from common.contracts.topics import dead_letter_topic

PREFIX = "deadletter."
HEADER = "x-dead-letter-"


def consumer_of(topic: str) -> str:
    return topic.removeprefix(PREFIX).rsplit(".v", 1)[0]


@dataclass(frozen=True)
class DeadLetter:
    record: Record

    @property
    def reason(self) -> str:
        return self.record.headers.get(f"{HEADER}reason", "?")

    @property
    def origin(self) -> str:
        h = self.record.headers
        return f"{h.get(f'{HEADER}topic', '?')}[{h.get(f'{HEADER}partition', '?')}]@{h.get(f'{HEADER}offset', '?')}"

    def summary(self) -> dict[str, Any]:
        h = self.record.headers
        event = self.record.event() or {}
        return {
            "partition": self.record.partition,
            "offset": self.record.offset,
            "reason": self.reason,
            "error": h.get(f"{HEADER}error", ""),
            "from": self.origin,
            "at": h.get(f"{HEADER}at", ""),
            "attempts": h.get(f"{HEADER}attempts", ""),
            "event_type": event.get("type"),
            "event_id": event.get("id"),
        }


async def topic_counts(bootstrap_servers: str) -> dict[str, int]:
    """Each dead-letter topic with the number of messages it holds."""
    async with consumer(bootstrap_servers) as client:
        names = sorted(t for t in await client.topics() if t.startswith(PREFIX))
        tps = await partitions(client, names)
        if not tps:
            return {}
        begin, end = await client.beginning_offsets(tps), await client.end_offsets(tps)
        counts = dict.fromkeys(names, 0)
        for tp in tps:
            counts[tp.topic] += end[tp] - begin[tp]
        return counts


async def messages(bootstrap_servers: str, consumer_name: str) -> list[DeadLetter]:
    async with consumer(bootstrap_servers) as client:
        tps = await partitions(client, [dead_letter_topic(consumer_name)])
        return [DeadLetter(r) async for r in read_range(client, tps)]


async def message(
    bootstrap_servers: str, consumer_name: str, partition: int, offset: int
) -> DeadLetter | None:
    async with consumer(bootstrap_servers) as client:
        tp = TopicPartition(dead_letter_topic(consumer_name), partition)
        if tp not in await partitions(client, [tp.topic]):
            return None
        client.assign([tp])
        end = (await client.end_offsets([tp]))[tp]
        if offset >= end:
            return None
        client.seek(tp, offset)
        batches = await client.getmany(tp, timeout_ms=10000)
        for record in batches.get(tp, []):
            if record.offset == offset:
                return DeadLetter(Record.of(record))
        return None


def show(letter: DeadLetter) -> str:
    record = letter.record
    body: Any
    try:
        body = json.loads(record.value)
    except ValueError:
        body = record.value.decode(errors="replace")
    document = {
        "dead_letter": f"{record.topic}[{record.partition}]@{record.offset}",
        "key": record.key.decode(errors="replace") if record.key is not None else None,
        "headers": dict(sorted(record.headers.items())),
        "body": body,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


async def replay(bootstrap_servers: str, letters: list[DeadLetter]) -> list[str]:
    """Publish each message again to the topic it came from, without the dead-letter headers.

    Safe to repeat: consumers are idempotent (their inbox skips an event they already processed), so a
    replayed message that was processed meanwhile changes nothing; one that still cannot be processed goes
    back to the dead-letter topic with the new error.
    """
    done: list[str] = []
    async with producer(bootstrap_servers) as client:
        for letter in letters:
            record = letter.record
            source = record.headers.get(f"{HEADER}topic")
            if not source:
                continue
            headers = [(k, v.encode()) for k, v in record.headers.items() if not k.startswith(HEADER)]
            headers.append(
                ("x-replayed-from", f"{record.topic}[{record.partition}]@{record.offset}".encode())
            )
            await client.send_and_wait(source, record.value, key=record.key, headers=headers)
            done.append(f"{record.topic}[{record.partition}]@{record.offset} -> {source}")
    return done
