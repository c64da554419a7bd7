"""Test helpers: the coalition service's records on the real Kafka topics, once the outbox relayed them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from coalition_world import CoalitionWorld

from common.contracts import topics
from common.testing.infra import Infra
from eventually import eventually


@dataclass(frozen=True)
class Record:
    topic: str
    key: str
    headers: dict[str, str]
    event: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.event["data"])


async def read_to_end(bootstrap: str, *topic_names: str) -> list[Record]:
    """Every record on the topics, from the beginning to the end offsets at the time of the call."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster metadata
        partitions = [
            TopicPartition(name, p) for name in topic_names for p in consumer.partitions_for_topic(name) or ()
        ]
        assert partitions, f"no partitions for {topic_names}"
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
                            m.key.decode() if m.key else "",
                            {k: v.decode() for k, v in m.headers},
                            json.loads(m.value),
                        )
                    )
        return records
    finally:
        await consumer.stop()


async def published(world: CoalitionWorld, infra: Infra, *keys: str) -> list[Record]:
    """The coalition topics' records about the coalitions `keys`, once the outbox has relayed everything."""
    outbox = world.app.state.runtime.db["outbox"]

    async def relayed() -> bool:
        return await outbox.count_documents({"status": "pending"}) == 0

    await eventually(relayed, within=30, message="the outbox to relay the events")
    records = await read_to_end(
        infra.kafka_bootstrap_servers, topics.COALITION_COALITIONS, topics.COALITION_MEMBERSHIPS
    )
    # Selected by key or by the coalition the event names, so that a wrongly keyed event shows up too.
    return [r for r in records if r.key in keys or r.event.get("coalitionid") in keys]
