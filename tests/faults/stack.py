"""The platform as `make run` starts it (common.devstack), on free ports, with handles to break it.

Every service is its own process (`python -m <service> serve`) on an embedded MongoDB and Kafka-compatible
broker, started with the environment `common.devstack` gives it. What the fault scenarios add (see
NEEDS.md): the PID of each process, SIGKILL and restart of a service, SIGSTOP and SIGCONT of MongoDB or
the broker, and extra environment for the services. Everything is stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from common.devstack import SERVICES, DevStackSettings, ServiceSpec, admin_password, service_env
from common.embedded import EmbeddedKafka, EmbeddedMongo, free_port, port_in_use, stop_process

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 120.0


class FaultStack:
    def __init__(self, state: Path, extra_env: dict[str, str]) -> None:
        self.state = state
        self.extra_env = extra_env
        self.settings = DevStackSettings(
            mongo_port=free_port(),
            kafka_port=free_port(),
            identity_port=free_port(),
            coalition_port=free_port(),
            campaigns_port=free_port(),
            notifications_port=free_port(),
            smtp_port=free_port(),
            state_dir=state,
        )
        self.mongo = EmbeddedMongo(
            port=self.settings.mongo_port, data_dir=state / "mongo", log_path=state / "mongod.log"
        )
        self.kafka = EmbeddedKafka(port=self.settings.kafka_port, log_path=state / "tansu.log")
        self.services: dict[str, subprocess.Popen[bytes]] = {}
        self.smtp: subprocess.Popen[bytes] | None = None
        self.log_path = state / "services.log"
        self.specs = {spec.name: spec for spec in SERVICES}

    # ---- addresses ----------------------------------------------------------------------------------
    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{getattr(self.settings, self.specs[service].port_field)}"

    @property
    def mongodb_url(self) -> str:
        return self.mongo.url

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka.bootstrap_servers

    def pid(self, name: str) -> int:
        process = {"mongodb": self.mongo.process, "kafka": self.kafka.process, "smtp": self.smtp}.get(
            name
        ) or self.services.get(name)
        assert process is not None, f"no process {name}"
        return process.pid

    # ---- life -------------------------------------------------------------------------------------
    def start(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.kafka.start()
        self.mongo.start()
        maildir = self.state / "mail"
        maildir.mkdir(exist_ok=True)
        with self.log_path.open("ab") as log:
            command = [sys.executable, "-m", "notifications.smtp_sink", "--host", "127.0.0.1"]
            command += ["--port", str(self.settings.smtp_port), "--maildir", str(maildir)]
            self.smtp = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while not port_in_use(self.settings.smtp_port):
            assert self.smtp.poll() is None, "the SMTP sink exited"
            assert time.monotonic() < deadline, "the SMTP sink did not start"
            time.sleep(0.05)
        for name in self.specs:
            self._spawn(name)
        for name in self.specs:
            self.wait_ready(name)

    def _spawn(self, name: str) -> None:
        spec: ServiceSpec = self.specs[name]
        password = admin_password(self.state)
        env = service_env(spec, self.settings, self.mongo.url, self.kafka.bootstrap_servers, password)
        env.update(self.extra_env)
        with self.log_path.open("ab") as log:
            self.services[name] = subprocess.Popen(
                [sys.executable, "-m", name, "serve"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, name: str) -> None:
        process = self.services[name]
        url = self.url(name) + "/readyz"
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}; see {self.log_path}")
            with (
                contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
                urllib.request.urlopen(url, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{name} was not ready within {READY_SECONDS}s")

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, as when the machine or the OOM killer takes the process."""
        process = self.services[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def restart(self, name: str) -> None:
        self.respawn(name)
        self.wait_ready(name)

    def respawn(self, name: str) -> None:
        """Start the service again (without waiting until it is ready)."""
        self._spawn(name)

    def freeze(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGCONT)

    def stop(self) -> None:
        for name in ("mongodb", "kafka"):
            with contextlib.suppress(ProcessLookupError, AssertionError):
                self.thaw(name)
        for process in reversed(list(self.services.values())):
            stop_process(process, timeout=15)
        if self.smtp is not None:
            stop_process(self.smtp, timeout=10)
        self.mongo.stop()
        self.kafka.stop()
