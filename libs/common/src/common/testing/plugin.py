"""pytest plugin: the `infra` fixture (real MongoDB and Kafka for the whole run) and helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common.testing.infra import Infra, docker_available, docker_infra, select_infra


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """Real servers: external when KAFKA_BOOTSTRAP_SERVERS/MONGODB_URL are set, else docker, else embedded."""
    with select_infra() as selected:
        yield selected


@pytest.fixture(scope="session")
def docker_only_infra() -> Iterator[Infra]:
    """Servers in Docker containers (testcontainers); skips with the reason when no daemon answers."""
    available, reason = docker_available()
    if not available:
        pytest.skip(reason)
    with docker_infra() as selected:
        yield selected
