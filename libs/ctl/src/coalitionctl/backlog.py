"""How far behind the platform is: each service's unpublished outbox records and each consumer group's lag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from coalitionctl.config import SERVICES, CtlSettings
from coalitionctl.kafka import consumer, partitions
from coalitionctl.services import Group, all_groups
from common.mongo import create_client
from common.outbox import OUTBOX, PENDING


@dataclass(frozen=True)
class OutboxBacklog:
    service: str
    pending: int
    oldest_seconds: float | None


@dataclass(frozen=True)
class GroupLag:
    service: str
    group: str
    lag: int
    by_topic: dict[str, int]


async def outbox_backlog(settings: CtlSettings) -> list[OutboxBacklog]:
    client = create_client(settings.mongodb_url, app_name="coalitionctl")
    try:
        found: list[OutboxBacklog] = []
        for service in SERVICES:
            outbox = client[settings.database(service)][OUTBOX]
            pending = await outbox.count_documents({"status": PENDING})
            oldest = await outbox.find_one({"status": PENDING}, sort=[("_id", 1)])
            age = None
            if oldest is not None and isinstance(oldest.get("created_at"), datetime):
                age = (datetime.now(UTC) - oldest["created_at"]).total_seconds()
            found.append(OutboxBacklog(service, pending, age))
        return found
    finally:
        await client.close()


async def group_lag(settings: CtlSettings, group: Group) -> GroupLag:
    """Messages on the group's topics that it has not committed yet (a group that never committed: all)."""
    async with consumer(settings.kafka_bootstrap_servers, group_id=group.name) as client:
        tps = await partitions(client, group.topics)
        by_topic = dict.fromkeys(group.topics, 0)
        if tps:
            begin, end = await client.beginning_offsets(tps), await client.end_offsets(tps)
            for tp in tps:
                committed = await client.committed(tp)
                position = begin[tp] if committed is None else max(committed, begin[tp])
                by_topic[tp.topic] += max(0, end[tp] - position)
        return GroupLag(group.service, group.name, sum(by_topic.values()), by_topic)


async def consumer_lag(settings: CtlSettings, service: str | None = None) -> list[GroupLag]:
    groups = [g for g in all_groups(settings) if service in (None, g.service)]
    return [await group_lag(settings, g) for g in groups]
