"""The embedded development stack behind `make run`: real MongoDB and Kafka, an SMTP sink, every service.

Ports are fixed for development (MongoDB 27018, Kafka 19092, SMTP 1025, services 8001-8004) and can be moved with
DEVSTACK_* environment variables. A lock file makes a second launch say clearly that one is running.
Everything started here is stopped by PID on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.embedded import EmbeddedKafka, EmbeddedMongo, port_in_use, stop_process


class DevStackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEVSTACK_", extra="ignore")

    mongo_port: int = Field(27018, description="MongoDB port")
    kafka_port: int = Field(19092, description="Kafka-compatible broker port")
    identity_port: int = Field(8001, description="identity service port")
    coalition_port: int = Field(8002, description="coalition service port")
    campaigns_port: int = Field(8003, description="campaigns service port")
    notifications_port: int = Field(8004, description="notifications service port")
    smtp_port: int = Field(1025, description="SMTP sink port (e-mail is kept in <state_dir>/mail)")
    state_dir: Path = Field(Path(".run"), description="Where data, logs and the admin password are kept")
    admin_email: str = Field("admin@example.org", description="E-mail of the development platform admin")
    ready_timeout: float = Field(90.0, description="Seconds to wait for each service to become ready")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port_field: str


# Services join this list as they are built.
SERVICES = (
    ServiceSpec("identity", "identity_port"),
    ServiceSpec("coalition", "coalition_port"),
    ServiceSpec("campaigns", "campaigns_port"),
    ServiceSpec("notifications", "notifications_port"),
)


class AlreadyRunning(RuntimeError):
    pass


def _acquire_lock(state_dir: Path) -> IO[str]:
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = (state_dir / "devstack.lock").open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(
            f"`make run` is already running (PID {pid}, state in {state_dir}). "
            f"Stop it with Ctrl-C in its terminal, or `kill {pid}`."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _admin_password(state_dir: Path) -> str:
    path = state_dir / "admin-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()


def _wait_ready(url: str, process: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 - a loopback URL we built
        ):
            if response.status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{name} was not ready at {url} within {timeout}s")


def _service_env(
    spec: ServiceSpec, settings: DevStackSettings, mongo_url: str, kafka: str, password: str
) -> dict[str, str]:
    prefix = spec.name.upper() + "_"
    port = getattr(settings, spec.port_field)
    identity = f"http://127.0.0.1:{settings.identity_port}"
    env = {
        "ENVIRONMENT": "development",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MONGODB_URL": mongo_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "AUTH_ISSUER": identity,
        "AUTH_JWKS_URL": f"{identity}/.well-known/jwks.json",
    }
    if spec.name == "identity":
        env.update({"BOOTSTRAP_ADMIN_EMAIL": settings.admin_email, "BOOTSTRAP_ADMIN_PASSWORD": password})
    if spec.name == "notifications":
        env.update(
            {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(settings.smtp_port),
                "ALLOW_LOOPBACK_ENDPOINTS": "true",
                "APP_URL": f"http://127.0.0.1:{port}",
            }
        )
    return {**os.environ, **{prefix + k: v for k, v in env.items()}}


class DevStack:
    def __init__(self, settings: DevStackSettings) -> None:
        self.settings = settings
        self.state = settings.state_dir.resolve()
        self.mongo = EmbeddedMongo(
            port=settings.mongo_port,
            data_dir=self.state / f"mongo-{settings.mongo_port}",
            log_path=self.state / "mongod.log",
        )
        self.kafka = EmbeddedKafka(port=settings.kafka_port, log_path=self.state / "tansu.log")
        self.services: dict[str, subprocess.Popen[bytes]] = {}
        self.smtp: subprocess.Popen[bytes] | None = None
        self._stopping = False

    def _check_ports(self) -> None:
        ports = {
            "MongoDB": ("mongo_port", self.settings.mongo_port),
            "Kafka": ("kafka_port", self.settings.kafka_port),
            "SMTP sink": ("smtp_port", self.settings.smtp_port),
        }
        ports.update({s.name: (s.port_field, getattr(self.settings, s.port_field)) for s in SERVICES})
        busy = [
            f"{name} port {port} (set DEVSTACK_{field.upper()})"
            for name, (field, port) in ports.items()
            if port_in_use(port)
        ]
        if busy:
            raise AlreadyRunning("these ports are already in use by another program: " + "; ".join(busy))

    def start(self) -> None:
        self._check_ports()
        password = _admin_password(self.state)
        say(
            f"starting MongoDB on 127.0.0.1:{self.settings.mongo_port} and Kafka on 127.0.0.1:{self.settings.kafka_port}"
        )
        self.kafka.start()
        self.mongo.start()
        self._start_smtp_sink()
        for spec in SERVICES:
            env = _service_env(spec, self.settings, self.mongo.url, self.kafka.bootstrap_servers, password)
            self.services[spec.name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", spec.name, "serve"], env=env, start_new_session=True
            )
        for spec in SERVICES:
            port = getattr(self.settings, spec.port_field)
            _wait_ready(
                f"http://127.0.0.1:{port}/readyz",
                self.services[spec.name],
                spec.name,
                self.settings.ready_timeout,
            )
        self._banner()

    def _start_smtp_sink(self) -> None:
        maildir = self.state / "mail"
        maildir.mkdir(parents=True, exist_ok=True)
        log = (self.state / "smtp-sink.log").open("ab")
        command = [sys.executable, "-m", "notifications.smtp_sink", "--host", "127.0.0.1"]
        command += ["--port", str(self.settings.smtp_port), "--maildir", str(maildir)]
        self.smtp = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + 30
        while not port_in_use(self.settings.smtp_port):
            if self.smtp.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the SMTP sink did not start; see {self.state / 'smtp-sink.log'}")
            time.sleep(0.1)

    def _banner(self) -> None:
        lines = ["", "The coalition platform is running:"]
        for spec in SERVICES:
            url = f"http://127.0.0.1:{getattr(self.settings, spec.port_field)}"
            lines.append(f"  {spec.name:<14} {url}   (API docs: {url}/docs)")
        lines += [
            f"  {'mongodb':<14} {self.mongo.url}",
            f"  {'kafka':<14} {self.kafka.bootstrap_servers}",
            f"  {'smtp sink':<14} 127.0.0.1:{self.settings.smtp_port}   (e-mail kept in {self.state / 'mail'})",
            f"  platform admin {self.settings.admin_email} / password in {self.state / 'admin-password'}",
            "Press Ctrl-C to stop everything.",
            "",
        ]
        say("\n".join(lines))

    def exited_service(self) -> str | None:
        for name, process in self.services.items():
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for name, process in reversed(self.services.items()):
            say(f"stopping {name} (PID {process.pid})")
            stop_process(process, timeout=15)
        if self.smtp is not None:
            say(f"stopping the SMTP sink (PID {self.smtp.pid})")
            stop_process(self.smtp, timeout=10)
        say("stopping MongoDB and Kafka")
        self.mongo.stop()
        self.kafka.stop()


def say(message: str) -> None:
    print(f"[make run] {message}" if "\n" not in message else message, flush=True)  # noqa: T201


def main() -> int:
    settings = DevStackSettings()
    try:
        lock = _acquire_lock(settings.state_dir.resolve())
    except AlreadyRunning as exc:
        say(str(exc))
        return 1
    stack = DevStack(settings)
    stop_requested = False

    def request_stop(signum: int, _: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
        while not stop_requested:
            crashed = stack.exited_service()
            if crashed:
                say(f"{crashed} exited unexpectedly; stopping everything")
                return 1
            time.sleep(0.5)
        say("stop requested")
        return 0
    except (AlreadyRunning, RuntimeError) as exc:
        say(f"cannot start: {exc}")
        return 1
    finally:
        stack.stop()
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
