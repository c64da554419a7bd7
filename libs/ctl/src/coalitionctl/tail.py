"""Following a topic: its CloudEvents, filtered by type, organization or campaign."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import TopicPartition

from coalitionctl.kafka import Record, consumer, partitions


@dataclass(frozen=True)
class Filters:
    types: tuple[str, ...] = ()
    organization: str | None = None
    campaign: str | None = None

    def accept(self, record: Record) -> bool:
        event = record.event()
        if event is None:
            return not (self.types or self.organization or self.campaign)
        if self.types and not any(_type_matches(str(event.get("type", "")), t) for t in self.types):
            return False
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        assert isinstance(data, dict)
        if self.organization and self.organization not in (
            event.get("orgid"),
            data.get("organization_id"),
            data.get("org_id"),
            data.get("owner_org_id"),
        ):
            return False
        return not (
            self.campaign
            and self.campaign != data.get("campaign_id")
            and self.campaign not in str(event.get("subject", ""))
        )


def _type_matches(event_type: str, wanted: str) -> bool:
    """`campaigns.action.recorded`, or a prefix ending in `*`: `campaigns.*`."""
    return event_type.startswith(wanted[:-1]) if wanted.endswith("*") else event_type == wanted


async def follow(
    bootstrap_servers: str, topic: str, *, from_beginning: bool, idle_seconds: float | None
) -> AsyncIterator[Record]:
    """Records of `topic` from now (or its beginning) on; stops after `idle_seconds` without one, if given."""
    async with consumer(bootstrap_servers) as client:
        tps: list[TopicPartition] = await partitions(client, [topic])
        if not tps:
            raise LookupError(topic)
        client.assign(tps)
        if from_beginning:
            await client.seek_to_beginning(*tps)
        else:
            await client.seek_to_end(*tps)
            for tp in tps:
                await client.position(tp)  # fix "now" before anything new arrives
        loop_time = asyncio.get_running_loop().time
        idle_since = loop_time()
        while True:
            batches = await client.getmany(*tps, timeout_ms=500)
            if batches:
                idle_since = loop_time()
            elif idle_seconds is not None and loop_time() - idle_since > idle_seconds:
                return
            for records in batches.values():
                for record in records:
                    yield Record.of(record)
