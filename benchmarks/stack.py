"""The platform as `make run` starts it, for the benchmark: common.devstack on free ports and its own state.

Every service is its own process (`python -m <service> serve`), on an embedded MongoDB and Tansu, exactly as
DevStack starts them; only the ports (free ones) and the state directory (a temporary one) differ, so a
running `make run` is left alone. Two settings are changed for the benchmark, through the environment the
services read: CAMPAIGNS_PUBLIC_RATE_LIMIT (10**9: all load comes from one loopback address),
CAMPAIGNS_PUBLIC_CHALLENGE_REQUIRED (false: scripted load solves no proof-of-work) and
NOTIFICATIONS_ALLOW_LOOPBACK_ENDPOINTS (the receiver listens on loopback; DevStack sets it already in
development). Services log at WARNING to <state>/services.log. The extra processes of the benchmark (a second
campaigns API, the floor, the webhook receiver) are started here too, and everything is stopped by PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from common.contracts import topics
from common.devstack import SERVICES, DevStack, DevStackSettings, ServiceSpec, admin_password, service_env
from common.embedded import free_port, port_in_use, stop_process

ROOT = Path(__file__).resolve().parents[1]
BENCH_ENV = {
    "CAMPAIGNS_PUBLIC_RATE_LIMIT": str(10**9),
    # The load comes from scripts, not browsers: no proof-of-work (its cost is the browser's, not the
    # service's; verifying one is a hash and an insert).
    "CAMPAIGNS_PUBLIC_CHALLENGE_REQUIRED": "false",
    "NOTIFICATIONS_ALLOW_LOOPBACK_ENDPOINTS": "true",
    **{f"{s.name.upper()}_LOG_LEVEL": "WARNING" for s in SERVICES},
}


async def _lag(bootstrap: str, groups: tuple[str, ...]) -> int:
    """Sum of end offset minus committed offset over the groups' topics. A consumer that names the
    group but subscribes to nothing does not join it; it only asks the coordinator for the offsets
    (Tansu does not answer the admin client's OffsetFetch, which asks for all topics at once)."""
    lag = 0
    for group, topic_names in groups_topics(groups).items():
        probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await probe.start()
        try:
            await probe.topics()
            partitions = [
                TopicPartition(t, p) for t in topic_names for p in probe.partitions_for_topic(t) or ()
            ]
            ends = await probe.end_offsets(partitions)
            for tp in partitions:
                committed = await probe.committed(tp)
                lag += max(ends[tp] - (committed or 0), 0)
        finally:
            await probe.stop()
    return lag


def groups_topics(groups: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The topics each pipeline group consumes."""
    known = {
        "campaigns-aggregator": (topics.CAMPAIGNS_ACTIONS,),
        "notifications-actions": (topics.CAMPAIGNS_ACTIONS,),
        "notifications-campaigns": (topics.CAMPAIGNS_CAMPAIGNS,),
    }
    return {group: known[group] for group in groups}


def rss_mib(pid: int) -> float | None:
    """Resident memory of one process (VmRSS in /proc/PID/status), MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def wait_http(url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 - loopback URL we built
        ):
            if response.status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{name} was not ready at {url} within {timeout}s")


class BenchStack:
    def __init__(self, keep_state: bool = False) -> None:
        self.state = Path(tempfile.mkdtemp(prefix="coalition-bench-"))
        self.keep_state = keep_state
        self.settings = DevStackSettings(
            mongo_port=free_port(),
            kafka_port=free_port(),
            identity_port=free_port(),
            coalition_port=free_port(),
            campaigns_port=free_port(),
            notifications_port=free_port(),
            smtp_port=free_port(),
            state_dir=self.state,
        )
        self.devstack = DevStack(self.settings)
        self.extra: dict[str, subprocess.Popen[bytes]] = {}
        self.log_path = self.state / "services.log"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{getattr(self.settings, service + '_port')}"

    @property
    def mongodb_url(self) -> str:
        return self.devstack.mongo.url

    @property
    def admin_password(self) -> str:
        return admin_password(self.state)

    def consumer_lag(self, groups: tuple[str, ...]) -> int:
        """Records the consumer groups have not committed yet, summed over their topics' partitions."""
        return asyncio.run(_lag(self.devstack.kafka.bootstrap_servers, groups))

    def wait_caught_up(self, groups: tuple[str, ...], limit: float = 300) -> float:
        """Wait until the groups have consumed everything published so far; the seconds it took."""
        started = time.monotonic()
        while self.consumer_lag(groups) > 0 and time.monotonic() - started < limit:
            time.sleep(0.5)
        return time.monotonic() - started

    def service_pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.devstack.services.items()}

    def start(self) -> None:
        os.environ.update(BENCH_ENV)
        # DevStack's children inherit our stdout and stderr: point them at a log file while it starts them.
        saved = os.dup(1), os.dup(2)
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.dup2(log, 1)
            os.dup2(log, 2)
            self.devstack.start()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in (*saved, log):
                os.close(fd)

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        with self.log_path.open("ab") as log:
            self.extra[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start_campaigns_replica(self) -> str:
        """A second campaigns API process (`python -m campaigns api`) on another port; its base URL."""
        port = free_port()
        settings = self.settings.model_copy(update={"campaigns_port": port})
        env = service_env(
            ServiceSpec("campaigns", "campaigns_port"),
            settings,
            self.devstack.mongo.url,
            self.devstack.kafka.bootstrap_servers,
            self.admin_password,
        )
        self._spawn("campaigns-replica", [sys.executable, "-m", "campaigns", "api"], env)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/readyz", self.extra["campaigns-replica"], "campaigns replica")
        return url

    def stop_extra(self, name: str) -> None:
        process = self.extra.pop(name, None)
        if process is not None:
            stop_process(process, timeout=15)

    def start_floor(self) -> str:
        port = free_port()
        command = [sys.executable, "-m", "benchmarks.floor", "--port", str(port)]
        self._spawn("floor", [*command, "--mongodb-url", self.devstack.mongo.url])
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/readyz", self.extra["floor"], "floor")
        return url

    def start_receiver(self) -> str:
        port = free_port()
        self._spawn("receiver", [sys.executable, "-m", "benchmarks.receiver", "--port", str(port)])
        deadline = time.monotonic() + 30
        while not port_in_use(port):
            if self.extra["receiver"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    def crashed(self) -> str | None:
        return self.devstack.exited_service()

    def stop(self) -> None:
        for name in list(self.extra):
            self.stop_extra(name)
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            self.devstack.stop()
        if not self.keep_state:
            shutil.rmtree(self.state, ignore_errors=True)
