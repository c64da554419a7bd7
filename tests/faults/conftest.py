"""One platform stack (every service its own process) shared by the fault scenarios, a partner's webhook
receiver, and the figures of the scenarios that passed, written to docs/reliability.md."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from faults import report
from faults.receiver import Receiver
from faults.scenario import Figures
from faults.stack import FaultStack

SERVICE_NAMES = ("identity", "coalition", "campaigns", "notifications")
# The receiver fails for a minute (FAILING_SECONDS in test_receiver_failing.py), so deliveries are retried on
# a short schedule: 40 attempts 2 s apart at most (about 77 s), enough to outlast it.
RETRY_SCHEDULE = [0, 1] + [2] * 38
SCENARIOS = {
    "kill each service": "SIGKILL identity, coalition, campaigns, notifications in turn mid-stream, each restarted",
    "broker frozen": "SIGSTOP the Kafka-compatible broker for 20 s, then SIGCONT",
    "MongoDB frozen": "SIGSTOP MongoDB for 10 s, then SIGCONT",
    "receiver failing": "the partner's receiver answers 500 for a minute, then recovers",
    "poison messages": "invalid JSON, wrong schema, unknown type, a failing handler on every consumed topic",
}


def service_env() -> dict[str, str]:
    env = {
        "CAMPAIGNS_PUBLIC_RATE_LIMIT": str(10**9),
        # Thousands of actions from one client: the per-address limit and the proof-of-work (each
        # solution costs the client CPU) are lifted, as for the benchmark; both have their own tests.
        "CAMPAIGNS_PUBLIC_CHALLENGE_REQUIRED": "false",
        "NOTIFICATIONS_ALLOW_LOOPBACK_ENDPOINTS": "true",
        "NOTIFICATIONS_RETRY_SCHEDULE_SECONDS": json.dumps(RETRY_SCHEDULE),
    }
    for name in SERVICE_NAMES:
        prefix = name.upper()
        env[f"{prefix}_LOG_LEVEL"] = "WARNING"
        env[f"{prefix}_OUTBOX_POLL_INTERVAL_SECONDS"] = "0.5"
    return env


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    stack = FaultStack(tmp_path_factory.mktemp("faults"), service_env())
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def reliability() -> Iterator[list[Figures]]:
    figures: list[Figures] = []
    yield figures
    if figures:
        report.write(figures, SCENARIOS)
