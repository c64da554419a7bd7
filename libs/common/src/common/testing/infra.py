"""Picks the real servers a test run uses: external (env), docker (testcontainers) or embedded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic_settings import BaseSettings, SettingsConfigDict

from common.embedded import EmbeddedStack


@dataclass(frozen=True)
class Infra:
    kind: str  # external | docker | embedded
    mongodb_url: str
    kafka_bootstrap_servers: str


class InfraSettings(BaseSettings):
    """`KAFKA_BOOTSTRAP_SERVERS` and `MONGODB_URL` select external servers; `TEST_INFRA` forces a kind."""

    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str | None = None
    mongodb_url: str | None = None
    test_infra: str | None = None  # external | docker | embedded


def docker_available() -> tuple[bool, str]:
    """Whether a Docker daemon answers, and why not when it does not."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return False, f"no Docker daemon answers ({type(exc).__name__}: {exc})"
    return True, ""


@contextlib.contextmanager
def embedded_infra() -> Iterator[Infra]:
    stack = EmbeddedStack.create()
    stack.start()
    try:
        yield Infra("embedded", stack.mongo.url, stack.kafka.bootstrap_servers)
    finally:
        stack.stop()


@contextlib.contextmanager
def docker_infra() -> Iterator[Infra]:
    """MongoDB (single-node replica set) and Apache Kafka (KRaft) in containers."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.kafka import KafkaContainer

    mongo = DockerContainer("mongo:7.0").with_command("--replSet rs0 --bind_ip_all").with_exposed_ports(27017)
    kafka = KafkaContainer("apache/kafka:3.8.0").with_kraft()
    with mongo, kafka:
        wait_for_logs(mongo, "Waiting for connections", timeout=60)
        mongo.exec(
            [
                "mongosh",
                "--quiet",
                "--eval",
                "rs.initiate({_id:'rs0',members:[{_id:0,host:'localhost:27017'}]})",
            ]
        )
        host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
        url = f"mongodb://{host}:{port}/?replicaSet=rs0&directConnection=true"
        _wait_primary(url)
        yield Infra("docker", url, kafka.get_bootstrap_server())


def _wait_primary(url: str, timeout: float = 30.0) -> None:
    import time

    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=2000)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if client.admin.command("hello").get("isWritablePrimary"):
                    return
            time.sleep(0.2)
    finally:
        client.close()
    raise RuntimeError("the MongoDB container did not become primary")


@contextlib.contextmanager
def select_infra() -> Iterator[Infra]:
    settings = InfraSettings()
    kind = settings.test_infra
    if kind is None:
        if settings.kafka_bootstrap_servers and settings.mongodb_url:
            kind = "external"
        else:
            kind = "docker" if docker_available()[0] else "embedded"
    if kind == "external":
        if not (settings.kafka_bootstrap_servers and settings.mongodb_url):
            raise RuntimeError("TEST_INFRA=external needs KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL")
        yield Infra("external", settings.mongodb_url, settings.kafka_bootstrap_servers)
    elif kind == "docker":
        with docker_infra() as infra:
            yield infra
    else:
        with embedded_infra() as infra:
            yield infra
