"""Test helpers: the coalition service's records on the real Kafka topics, once the outbox relayed them."""

from __future__ import annotations

from coalition_world import CoalitionWorld

from common.contracts import topics
from common.testing.infra import Infra
from eventually import eventually
from kafka_records import Record, read_to_end


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
