"""Scenario 2: the broker is frozen (SIGSTOP) for 20 s mid-stream, then resumed (SIGCONT).

Actions keep being accepted (the intake writes only to MongoDB); producers and consumers recover without
a restart and the outbox backlog drains.
"""

from __future__ import annotations

import asyncio

from faults.receiver import Receiver
from faults.scenario import ACTIONS, Figures, run_scenario
from faults.stack import FaultStack
from faults.stream import ActionStream

FROZEN_SECONDS = 20.0


async def freeze_broker(stack: FaultStack, stream: ActionStream, _: Receiver, __: asyncio.Event) -> None:
    await stream.reached(ACTIONS // 5)
    stack.freeze("kafka")
    try:
        await asyncio.sleep(FROZEN_SECONDS)
    finally:
        stack.thaw("kafka")


async def test_a_frozen_broker_delays_but_loses_nothing(
    fault_stack: FaultStack, receiver: Receiver, reliability: list[Figures]
) -> None:
    pids = {name: fault_stack.pid(name) for name in ("identity", "coalition", "campaigns", "notifications")}
    figures, stream, _ = await run_scenario(fault_stack, receiver, "broker frozen", freeze_broker, seed=2)
    assert all(not i.valid for i in stream.refused), [i.statuses for i in stream.refused if i.valid][:5]
    assert {name: fault_stack.pid(name) for name in pids} == pids, "a service was restarted"
    figures.notes.append("every action accepted while the broker was frozen; no service restarted")
    reliability.append(figures)
