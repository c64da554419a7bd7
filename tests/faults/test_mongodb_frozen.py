"""Scenario 3: MongoDB is frozen (SIGSTOP) for 10 s mid-stream, then resumed.

While it is frozen requests answer 503 problem+json within the services' MongoDB deadline (5 s),
well inside the client's timeout; none hangs. A 503 says "try again": whether the work was committed is
unknown (a commit may be in flight when the deadline passes), so the client retries each such action with
its Idempotency-Key once MongoDB is back and gets the one true answer; an action is counted exactly when
that answer is a 2xx. New actions succeed again once it is back.
"""

from __future__ import annotations

import asyncio

from common.errors import PROBLEM_JSON
from faults.receiver import Receiver
from faults.scenario import ACTIONS, CLIENT_TIMEOUT, Figures, run_scenario
from faults.stack import FaultStack
from faults.stream import ActionStream

FROZEN_SECONDS = 10.0
resumed_at: dict[str, int] = {}


async def freeze_mongodb(stack: FaultStack, stream: ActionStream, _: Receiver, __: asyncio.Event) -> None:
    await stream.reached(ACTIONS // 5)
    stack.freeze("mongodb")
    try:
        await asyncio.sleep(FROZEN_SECONDS)
    finally:
        stack.thaw("mongodb")
    resumed_at["intents"] = len(stream.intents)


async def test_a_frozen_database_gets_fast_503s_and_then_successes(
    fault_stack: FaultStack, receiver: Receiver, reliability: list[Figures]
) -> None:
    figures, stream, _ = await run_scenario(fault_stack, receiver, "MongoDB frozen", freeze_mongodb, seed=3)
    assert stream.client_timeouts == 0, f"{stream.client_timeouts} requests hung past {CLIENT_TIMEOUT}s"
    assert stream.errors, "MongoDB was frozen for 10 s, yet no request was refused"
    unavailable = [e for e in stream.errors if e.status == 503]
    assert unavailable, "MongoDB was frozen for 10 s, yet no request answered 503"
    assert {e.status for e in stream.errors} <= {503, 422}, {e.status for e in stream.errors}
    assert {e.content_type for e in stream.errors} == {PROBLEM_JSON}
    assert max(e.seconds for e in stream.errors) < CLIENT_TIMEOUT
    # Once it is back, actions succeed: the last quarter of the stream, sent well after, all did.
    later = stream.intents[resumed_at["intents"] + (len(stream.intents) - resumed_at["intents"]) // 2 :]
    assert later
    assert all(i.state == "acknowledged" for i in later if i.valid)
    figures.notes.append(
        f"{len(unavailable)} requests answered 503 problem+json while MongoDB was frozen, the slowest in "
        f"{max(e.seconds for e in unavailable):.1f} s (client timeout {CLIENT_TIMEOUT:.0f} s); each retried "
        "with its key once MongoDB was back"
    )
    reliability.append(figures)
