"""Scenario 5: poison messages on every consumed topic of every service, in the middle of the stream.

Each lands in its consumer group's dead-letter topic with the error in headers, and the messages behind
it are processed: the stream's later actions are counted and delivered, and every group catches up.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from pymongo import MongoClient

from eventually import eventually
from faults import checks, poison
from faults.receiver import Receiver
from faults.scenario import ACTIONS, SETTLE_SECONDS, Figures, run_scenario
from faults.stack import FaultStack
from faults.stream import ActionStream

published: list[poison.Poison] = []
planted: list[uuid.UUID] = []


def refuse_raising_events(mongodb_url: str, *, refuse: bool) -> None:
    """Make every service's inbox refuse the raising events (so their handling fails every time)."""
    validator = {"_id": {"$not": {"$regex": poison.RAISING_PREFIX}}} if refuse else {}
    with MongoClient(mongodb_url) as client:
        for name in checks.SERVICE_DATABASES:
            if "inbox" not in client[name].list_collection_names():
                client[name].create_collection("inbox")
            client[name].command("collMod", "inbox", validator=validator, validationAction="error")


def plant_orphan_action(mongodb_url: str, sample: dict[str, Any]) -> poison.Poison:
    """An uncounted action of a campaign that does not exist: the aggregator can never count it."""
    with MongoClient(mongodb_url, uuidRepresentation="standard") as client:
        actions = client["campaigns"]["actions"]
        action = actions.find_one({"_id": uuid.UUID(sample["action_id"])})
        assert action is not None
        action.update({"_id": uuid.uuid4(), "campaign_id": uuid.uuid4(), "counted": False})
        actions.insert_one(action)
    planted.append(action["_id"])
    data = {**sample, "action_id": str(action["_id"]), "campaign_id": str(action["campaign_id"])}
    event = poison.envelope(
        "campaigns.action.recorded", data, event_id=f"{poison.RAISING_PREFIX}{uuid.uuid4()}"
    )
    return poison.Poison(
        poison.AGGREGATOR,
        "campaigns.actions.v1",
        "handler-failed",
        str(action["campaign_id"]).encode(),
        json.dumps(event).encode(),
    )


async def inject_poison(stack: FaultStack, stream: ActionStream, _: Receiver, __: asyncio.Event) -> None:
    await stream.reached(ACTIONS // 3)
    refuse_raising_events(stack.mongodb_url, refuse=True)
    poisons, sample = await poison.poisons_for(stack.bootstrap_servers)
    poisons.append(plant_orphan_action(stack.mongodb_url, sample))
    await poison.publish(stack.bootstrap_servers, poisons)
    published.extend(poisons)


async def test_poison_is_dead_lettered_and_the_messages_behind_it_are_processed(
    fault_stack: FaultStack, receiver: Receiver, reliability: list[Figures]
) -> None:
    try:
        figures, _, _ = await run_scenario(fault_stack, receiver, "poison messages", inject_poison, seed=5)
        groups = {p.group for p in published}
        assert len(groups) >= 8, groups  # every consumer group of every service
        reasons = {p.reason for p in published}
        assert reasons == {"invalid-envelope", "unknown-type", "invalid-payload", "handler-failed"}
        missing: list[poison.Poison] = []

        async def all_parked() -> bool:
            missing.clear()
            for group in groups:
                parked = await poison.dead_lettered(fault_stack.bootstrap_servers, group)
                for p in (p for p in published if p.group == group):
                    if not any(
                        body == p.body
                        and headers.get("x-dead-letter-reason") == p.reason
                        and headers.get("x-dead-letter-topic") == p.topic
                        and headers.get("x-dead-letter-error")
                        for headers, body in parked
                    ):
                        missing.append(p)
            return not missing

        await eventually(
            all_parked, within=SETTLE_SECONDS, interval=1.0, message="every poison dead-lettered"
        )
        figures.notes.append(
            f"{len(published)} poison messages ({', '.join(sorted(reasons))}) for {len(groups)} consumer "
            f"groups on {len({p.topic for p in published})} topics, each in its group's dead-letter topic"
        )
        reliability.append(figures)
    finally:
        refuse_raising_events(fault_stack.mongodb_url, refuse=False)
        with MongoClient(fault_stack.mongodb_url, uuidRepresentation="standard") as client:
            client["campaigns"]["actions"].delete_many({"_id": {"$in": planted}})
