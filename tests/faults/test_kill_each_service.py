"""Scenario 1: every service is SIGKILLed in turn in the middle of the stream, then started again.

Nothing acknowledged is lost or counted twice: the intake's transaction holds the action and its outbox
record, the relay publishes again what it had not marked sent, consumers skip what their inbox has seen,
and the aggregator's counted marks commit with the totals.
"""

from __future__ import annotations

import asyncio

from faults.receiver import Receiver
from faults.scenario import ACTIONS, Figures, run_scenario
from faults.stack import FaultStack
from faults.stream import ActionStream

ORDER = ("identity", "coalition", "campaigns", "notifications")


async def kill_each(stack: FaultStack, stream: ActionStream, _: Receiver, __: asyncio.Event) -> None:
    """Kill each service at its point of the stream and start it again at once; wait for all to be ready
    at the end (a restart takes 20 s or more, mostly consumer groups joining: waiting for each before the
    next kill would stretch the stream far beyond its size)."""
    for number, name in enumerate(ORDER, start=1):
        await stream.reached(number * ACTIONS // (len(ORDER) + 2))
        await asyncio.to_thread(stack.kill, name)
        stack.respawn(name)
    for name in ORDER:
        await asyncio.to_thread(stack.wait_ready, name)


async def test_nothing_acknowledged_is_lost_when_each_service_is_killed(
    fault_stack: FaultStack, receiver: Receiver, reliability: list[Figures]
) -> None:
    figures, stream, _ = await run_scenario(fault_stack, receiver, "kill each service", kill_each, seed=1)
    assert stream.no_answer > 0, "the campaigns service was killed, yet every request got an answer"
    figures.notes.append(
        f"{stream.no_answer} requests got no answer while a service was down; each was retried with its key"
    )
    reliability.append(figures)
