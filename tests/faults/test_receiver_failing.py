"""Scenario 4: the partner's receiver answers 500 for a while, then recovers: every delivery arrives, and
none twice under a different webhook-id. The receiver fails for the issue's minute (FAILING_SECONDS), with
the services' retry schedule shortened to match (tests/faults/conftest.py)."""

from __future__ import annotations

import asyncio

from faults.receiver import Receiver
from faults.scenario import ACTIONS, Figures, run_scenario
from faults.stack import FaultStack
from faults.stream import ActionStream

FAILING_SECONDS = 60.0


async def receiver_fails(_: FaultStack, stream: ActionStream, receiver: Receiver, __: asyncio.Event) -> None:
    await stream.reached(ACTIONS // 5)
    receiver.fail_for(FAILING_SECONDS)
    await asyncio.sleep(FAILING_SECONDS)


async def test_every_delivery_arrives_after_the_receiver_recovers(
    fault_stack: FaultStack, receiver: Receiver, reliability: list[Figures]
) -> None:
    figures, _, world = await run_scenario(fault_stack, receiver, "receiver failing", receiver_fails, seed=4)
    failed = sum(1 for path in world.paths.values() for r in receiver.all(path) if r.status >= 500)
    assert failed > 0, "the receiver never answered 500"
    figures.notes.append(f"{failed} requests answered 500 by the receiver, each message retried under its id")
    reliability.append(figures)
