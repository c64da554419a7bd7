"""What must hold after every scenario, read from the places themselves: Kafka topics, consumer groups'
committed offsets, each service's MongoDB database (outbox, actions), the statistics API."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from pymongo import MongoClient

from common.events import CloudEvent

SERVICE_DATABASES = ("identity", "coalition", "campaigns", "notifications")
MILESTONES = (25, 50, 75, 100)
CODEC = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)


async def read_topic(bootstrap: str, topic: str) -> list[tuple[dict[str, bytes], bytes]]:
    """Every record of `topic`, from the beginning: (headers, value)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[dict[str, bytes], bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(*partitions, timeout_ms=500)).values():
                found.extend((dict(r.headers), r.value or b"") for r in records)
        return found
    finally:
        await consumer.stop()


async def events_of(bootstrap: str, topic: str, event_type: str) -> list[CloudEvent]:
    events = []
    for _, value in await read_topic(bootstrap, topic):
        try:
            event = CloudEvent.from_bytes(value)
        except ValueError:
            continue  # poison published by the poison scenario
        if event.type == event_type:
            events.append(event)
    return events


async def consumer_lag(bootstrap: str, groups: dict[str, set[str]]) -> dict[str, int]:
    """Messages each consumer group has not committed yet, over the topics it consumes (a group that
    never committed on a partition owes all of it). Read with a consumer of the group that does not join
    it (`committed()` only), so the group's members are not disturbed."""
    lag: dict[str, int] = {}
    for group, topics in sorted(groups.items()):
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(t, p)
                for t in sorted(topics)
                for p in sorted(consumer.partitions_for_topic(t) or ())
            ]
            ends = await consumer.end_offsets(partitions) if partitions else {}
            owed = 0
            for tp in partitions:
                committed = await consumer.committed(tp)
                owed += max(0, ends[tp] - (committed or 0))
            lag[group] = owed
        finally:
            await consumer.stop()
    return lag


def pending_outbox(mongodb_url: str) -> dict[str, int]:
    with MongoClient(mongodb_url) as client:
        return {
            name: client[name]["outbox"].count_documents({"status": "pending"}) for name in SERVICE_DATABASES
        }


def stored_actions(mongodb_url: str, campaign_ids: Iterable[str]) -> dict[str, list[str]]:
    """The ids of the actions stored for each campaign."""
    from uuid import UUID

    found: dict[str, list[str]] = defaultdict(list)
    with MongoClient(mongodb_url) as client:
        actions = client.get_database("campaigns", codec_options=CODEC)["actions"]
        ids = [UUID(c) for c in campaign_ids]
        for doc in actions.find({"campaign_id": {"$in": ids}}, {"campaign_id": 1}):
            found[str(doc["campaign_id"])].append(str(doc["_id"]))
    return found


def milestones_for(count: int, target: int) -> set[int]:
    return {m for m in MILESTONES if count * 100 >= m * target}


def milestone_ids(events: list[CloudEvent]) -> dict[tuple[str, int], set[str]]:
    """The distinct event ids announcing each (campaign, milestone)."""
    ids: dict[tuple[str, int], set[str]] = defaultdict(set)
    for event in events:
        data: dict[str, Any] = event.data
        ids[(str(data["campaign_id"]), int(data["milestone"]))].add(event.id)
    return ids
