"""The embedded development stack behind `make run`: real MongoDB and Kafka, an SMTP sink, every service.

Ports are fixed for development (MongoDB 27018, Kafka 19092, SMTP 1025, services 8001-8004) and can be moved with
DEVSTACK_* environment variables. A lock file makes a second launch say clearly that one is running.

Supervision: a service that exits on its own is restarted with a growing back-off (1 s, 2 s, 4 s ... up to
DEVSTACK_RESTART_MAX_SECONDS), said on the console. Every child gets the Linux parent-death signal (SIGKILL when
the launcher dies, however it dies), and the PIDs of what was started are kept in <state_dir>/devstack-pids.json,
so that the next start stops what an earlier, cut-short run left behind (after checking each process is still the
one recorded). Ctrl-C or SIGTERM stops everything within DEVSTACK_STOP_TIMEOUT seconds (SIGKILL past it);
a second Ctrl-C stops at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.embedded import EmbeddedKafka, EmbeddedMongo, port_in_use


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
    stop_timeout: float = Field(
        20.0, gt=0, description="Seconds a stop may take before what is left is killed (SIGKILL)"
    )
    restart_max_seconds: float = Field(
        30.0,
        gt=0,
        description="Longest pause before restarting a crashed service (the back-off doubles up to it)",
    )
    log_format: str = Field(
        "text",
        pattern="^(text|json)$",
        description="text for people at a terminal; json: each launcher message one JSON object per line "
        "(time, level, service `devstack`, message), like the services' logs",
    )
    restart_reset_seconds: float = Field(
        60.0, gt=0, description="A service up this long is healthy again: its next crash restarts after 1 s"
    )


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


def admin_password(state_dir: Path) -> str:
    """The first platform admin's password of a stack kept in `state_dir` (made once, readable by its owner)."""
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


def service_env(
    spec: ServiceSpec, settings: DevStackSettings, mongo_url: str, kafka: str, password: str
) -> dict[str, str]:
    """The environment a service process of the dev stack runs with (also used by the bench and faults)."""
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


PR_SET_PDEATHSIG = 1
PIDS_FILE = "devstack-pids.json"


def die_with_parent() -> None:
    """In a child, before exec: ask Linux to SIGKILL it when the launcher's thread that started it ends.

    The launcher may be killed with SIGKILL, which no handler sees; without this its servers would be left
    holding their ports. Off Linux this does nothing (the PID file still lets the next start clean up).
    """
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the launcher died before the signal was armed
        os._exit(1)


def process_start_ticks(pid: int) -> int | None:
    """When a process started (clock ticks since boot), to tell it from a later process given the same PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; start time is field 22.
    return int(stat.rsplit(")", 1)[1].split()[19])


def listening_pids(port: int) -> list[int]:
    """PIDs of the processes that listen on a TCP port (Linux /proc; empty where it cannot be told)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(fields[9])
    pids: list[int] = []
    if not inodes:
        return pids
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pids.append(int(proc.name))
                    break
    return sorted(pids)


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


@dataclass
class Supervised:
    """A service process and what its supervisor knows about its restarts."""

    process: subprocess.Popen[bytes]
    started_at: float
    restarts: int = 0
    backoff: float = 0.0
    restart_at: float | None = None
    announced_ready: bool = True


class DevStack:
    def __init__(self, settings: DevStackSettings) -> None:
        self.settings = settings
        self.state = settings.state_dir.resolve()
        self.mongo = EmbeddedMongo(
            port=settings.mongo_port,
            data_dir=self.state / f"mongo-{settings.mongo_port}",
            log_path=self.state / "mongod.log",
            preexec=die_with_parent,
        )
        self.kafka = EmbeddedKafka(
            port=settings.kafka_port, log_path=self.state / "tansu.log", preexec=die_with_parent
        )
        self.services: dict[str, subprocess.Popen[bytes]] = {}
        self.supervised: dict[str, Supervised] = {}
        self.smtp: subprocess.Popen[bytes] | None = None
        self._password = ""
        self._stopping = False

    # ---- state of an earlier run -------------------------------------------------------------------
    @property
    def pids_path(self) -> Path:
        return self.state / PIDS_FILE

    def pids(self) -> dict[str, int]:
        """The PID of each running piece: mongodb, kafka, smtp and every service."""
        found = {"mongodb": self.mongo.process, "kafka": self.kafka.process, "smtp": self.smtp}
        pids = {name: process.pid for name, process in found.items() if process is not None}
        pids.update({name: process.pid for name, process in self.services.items()})
        return pids

    def _record_pids(self) -> None:
        records = {
            name: {"pid": pid, "start_ticks": process_start_ticks(pid), "command": _command_line(pid)}
            for name, pid in self.pids().items()
        }
        document = {"launcher": os.getpid(), "processes": records}
        temporary = self.pids_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=2))
        temporary.replace(self.pids_path)

    def clean_stale_state(self) -> list[str]:
        """Stop what an earlier run recorded and left running (it was cut short); say what was done."""
        notes: list[str] = []
        try:
            document = json.loads(self.pids_path.read_text())
        except (OSError, ValueError):
            return notes
        for name, record in dict(document.get("processes", {})).items():
            pid = int(record["pid"])
            if record.get("start_ticks") is None or process_start_ticks(pid) != record["start_ticks"]:
                continue  # gone, or the PID now belongs to another process
            notes.append(f"stopping {name} (PID {pid}) left running by an earlier run that was cut short")
            _stop_pid(pid, timeout=10)
        self.pids_path.unlink(missing_ok=True)
        if not notes:
            notes.append(
                f"an earlier run did not stop cleanly (PID {document.get('launcher')}); nothing was left"
            )
        return notes

    def _check_ports(self) -> None:
        ports = {
            "MongoDB": ("mongo_port", self.settings.mongo_port),
            "Kafka": ("kafka_port", self.settings.kafka_port),
            "SMTP sink": ("smtp_port", self.settings.smtp_port),
        }
        ports.update({s.name: (s.port_field, getattr(self.settings, s.port_field)) for s in SERVICES})
        busy = []
        for name, (field_name, port) in ports.items():
            if not port_in_use(port):
                continue
            holders = [f"PID {pid}: {_command_line(pid)[:120]}" for pid in listening_pids(port)]
            held_by = f", held by {'; '.join(holders)}" if holders else ""
            busy.append(f"{name} port {port} (set DEVSTACK_{field_name.upper()}){held_by}")
        if busy:
            raise AlreadyRunning(
                "these ports are already in use by another program: "
                + "; ".join(busy)
                + ". If one is left over from an earlier `make run`, stop it with `kill <PID>`."
            )

    # ---- start ----------------------------------------------------------------------------------------
    def start(self) -> None:
        for note in self.clean_stale_state():
            say(note)
        self._check_ports()
        self._password = admin_password(self.state)
        say(
            f"starting MongoDB on 127.0.0.1:{self.settings.mongo_port} and Kafka on 127.0.0.1:{self.settings.kafka_port}"
        )
        self.kafka.start()
        self._record_pids()
        self.mongo.start()
        self._record_pids()
        self._start_smtp_sink()
        for spec in SERVICES:
            self._spawn(spec)
        self._record_pids()
        for spec in SERVICES:
            port = getattr(self.settings, spec.port_field)
            _wait_ready(
                f"http://127.0.0.1:{port}/readyz",
                self.services[spec.name],
                spec.name,
                self.settings.ready_timeout,
            )
        self._banner()

    def _spawn(self, spec: ServiceSpec) -> subprocess.Popen[bytes]:
        env = service_env(spec, self.settings, self.mongo.url, self.kafka.bootstrap_servers, self._password)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", spec.name, "serve"],
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.services[spec.name] = process
        previous = self.supervised.get(spec.name)
        self.supervised[spec.name] = Supervised(
            process=process,
            started_at=time.monotonic(),
            restarts=previous.restarts if previous else 0,
            backoff=previous.backoff if previous else 0.0,
            announced_ready=previous is None,
        )
        return process

    def _start_smtp_sink(self) -> None:
        maildir = self.state / "mail"
        maildir.mkdir(parents=True, exist_ok=True)
        log = (self.state / "smtp-sink.log").open("ab")
        command = [sys.executable, "-m", "notifications.smtp_sink", "--host", "127.0.0.1"]
        command += ["--port", str(self.settings.smtp_port), "--maildir", str(maildir)]
        self.smtp = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent
        )
        log.close()
        self._record_pids()
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
            f"  PIDs in {self.pids_path}; a crashed service is restarted; operate it with `uv run coalitionctl`",
            "Press Ctrl-C to stop everything.",
            "",
        ]
        say("\n".join(lines))

    # ---- supervision ----------------------------------------------------------------------------------
    def exited_service(self) -> str | None:
        for name, process in self.services.items():
            if process.poll() is not None:
                return name
        return None

    def exited_server(self) -> str | None:
        """MongoDB, Kafka or the SMTP sink, if one of them exited (the stack cannot go on without them)."""
        found = {"MongoDB": self.mongo.process, "Kafka": self.kafka.process, "the SMTP sink": self.smtp}
        for name, process in found.items():
            if process is not None and process.poll() is not None:
                return f"{name} (PID {process.pid}, exit code {process.returncode})"
        return None

    def supervise(self) -> None:
        """One round: schedule the restart of services that exited, restart those whose pause is over."""
        now = time.monotonic()
        for spec in SERVICES:
            entry = self.supervised.get(spec.name)
            if entry is None or self._stopping:
                continue
            process = entry.process
            if process.poll() is None:
                if not entry.announced_ready and _answers(self._ready_url(spec)):
                    entry.announced_ready = True
                    say(f"{spec.name} is answering again (PID {process.pid})")
                continue
            if entry.restart_at is None:
                healthy = now - entry.started_at >= self.settings.restart_reset_seconds
                entry.backoff = 1.0 if healthy or entry.backoff == 0 else entry.backoff * 2
                entry.backoff = min(entry.backoff, self.settings.restart_max_seconds)
                entry.restart_at = now + entry.backoff
                say(
                    f"{spec.name} (PID {process.pid}) exited with code {_describe_exit(process.returncode)}; "
                    f"restarting it in {entry.backoff:g}s",
                    level="WARNING",
                )
            elif now >= entry.restart_at:
                entry.restarts += 1
                new = self._spawn(spec)
                self.supervised[spec.name].restarts = entry.restarts
                self._record_pids()
                say(f"restarted {spec.name} (restart #{entry.restarts}, PID {new.pid})")

    def _ready_url(self, spec: ServiceSpec) -> str:
        return f"http://127.0.0.1:{getattr(self.settings, spec.port_field)}/readyz"

    # ---- stop -------------------------------------------------------------------------------------------
    def stop(self, *, timeout: float | None = None) -> None:
        """Stop everything within `timeout` (DEVSTACK_STOP_TIMEOUT): services first, together, then the servers."""
        if self._stopping:
            return
        self._stopping = True
        started = time.monotonic()
        deadline = started + (timeout if timeout is not None else self.settings.stop_timeout)
        services = [p for p in self.services.values() if p.poll() is None]
        if services:
            say(
                "stopping "
                + ", ".join(f"{n} (PID {p.pid})" for n, p in self.services.items() if p in services)
            )
        # Services get most of the time (they drain requests and leave their consumer groups).
        _terminate_together(services, deadline=started + 0.7 * (deadline - started))
        if self.smtp is not None:
            _terminate_together([self.smtp], deadline=max(deadline - 2, time.monotonic() + 0.5))
        say("stopping MongoDB and Kafka")
        for server in (self.mongo, self.kafka):
            if server.process is not None:
                _terminate_together([server.process], deadline=max(deadline, time.monotonic() + 0.5))
            server.stop()
        self.pids_path.unlink(missing_ok=True)
        say(f"stopped everything in {time.monotonic() - started:.1f}s")

    def kill_now(self) -> None:
        """SIGKILL everything (a second Ctrl-C)."""
        for pid in self.pids().values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - a loopback URL we built
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"{code} ({signal.Signals(-code).name})"
    return str(code)


def _terminate_together(processes: list[subprocess.Popen[bytes]], *, deadline: float) -> None:
    """SIGTERM them all, wait until `deadline`, SIGKILL what is left."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)  # a frozen (SIGSTOP) process cannot act on SIGTERM
                os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"PID {process.pid} did not stop in time; killing it", level="WARNING")
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _stop_pid(pid: int, *, timeout: float) -> None:
    """Stop a process that is not our child (left by an earlier run): SIGTERM, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_start_ticks(pid) is None:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while process_start_ticks(pid) is not None and time.monotonic() < deadline + 10:
        time.sleep(0.1)


_LOG_FORMAT = {"value": "text"}


def say(message: str, *, level: str = "INFO") -> None:
    """A message of the launcher on its console: text, or one JSON object (DEVSTACK_LOG_FORMAT=json)."""
    if _LOG_FORMAT["value"] == "json":
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "service": "devstack",
            "message": message.strip("\n"),
        }
        print(json.dumps(entry), flush=True)  # noqa: T201
        return
    print(f"[make run] {message}" if "\n" not in message else message, flush=True)  # noqa: T201


def main() -> int:
    settings = DevStackSettings()
    _LOG_FORMAT["value"] = settings.log_format
    try:
        lock = _acquire_lock(settings.state_dir.resolve())
    except AlreadyRunning as exc:
        say(str(exc))
        return 1
    stack = DevStack(settings)
    stop_requests = 0
    started = False

    def request_stop(signum: int, _: FrameType | None) -> None:
        nonlocal stop_requests
        stop_requests += 1
        if stop_requests > 1:
            say("second stop request: killing everything now", level="WARNING")
            stack.kill_now()
            os._exit(130)
        if not started:  # still starting: leave the start-up waits at once
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # SIGHUP too (the terminal closed: a clean stop rather than the parent-death signal), unless ignored (nohup).
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, request_stop)
    try:
        stack.start()
        started = True
        while not stop_requests:
            broken = stack.exited_server()
            if broken:
                say(f"{broken} exited unexpectedly; stopping everything", level="ERROR")
                return 1
            stack.supervise()
            time.sleep(0.5)
        say("stop requested")
        return 0
    except KeyboardInterrupt:
        say("stop requested while starting")
        return 0
    except (AlreadyRunning, RuntimeError) as exc:
        say(f"cannot start: {exc}")
        return 1
    finally:
        stack.stop()
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
