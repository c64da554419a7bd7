"""Test helper: what is on real Kafka topics, read from the beginning to their end offsets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


@dataclass(frozen=True)
class Record:
    topic: str
    key: str
    headers: dict[str, str]
    raw: bytes

    @cached_property
    def event(self) -> dict[str, Any]:
        """The CloudEvent (a dead-letter topic may hold a value that is not one: this raises then)."""
        return dict(json.loads(self.raw))

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.event["data"])

    @property
    def everything(self) -> bytes:
        """Key, value and header values together, for scans that must find nothing."""
        return b"".join([self.key.encode(), self.raw, *(v.encode() for v in self.headers.values())])


async def read_to_end(bootstrap: str, *topic_names: str) -> list[Record]:
    """Every record on the topics (all but Kafka's internal ones if none is named), from the beginning
    to the end offsets at the time of the call."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        names = list(topic_names) or [t for t in await consumer.topics() if not t.startswith("__")]
        await consumer.topics()  # fetches the cluster metadata
        partitions = [TopicPartition(n, p) for n in names for p in consumer.partitions_for_topic(n) or ()]
        assert partitions, f"no partitions for {names}"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Record] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=500)
            for messages in batch.values():
                for m in messages:
                    records.append(
                        Record(
                            m.topic,
                            m.key.decode(errors="replace") if m.key else "",
                            {k: v.decode(errors="replace") for k, v in m.headers},
                            m.value or b"",
                        )
                    )
        return records
    finally:
        await consumer.stop()
