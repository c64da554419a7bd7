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


# ---- running on several workers (pytest-xdist, `make test`) ------------------------------------------------
# Each service's tests run on one worker, in their own order: their apps join their service's consumer
# groups on the worker's broker, and a module's app must not share a group with another module's app
# still running (split across workers by module, a notifications app got half the partitions and never
# saw its organization's owner). The modules under tests/ run on one worker each (their module fixtures
# are built once), and the suites that share one expensive session stack run on one worker each: the
# browser tests first, the fault scenarios last. The
# fault scenarios load the machine (five processes and a stream of actions); started early they ran beside
# the bulk of the suite and the browser's stack on 2 cores, and the other worker's consumers fell so far
# behind that its tests timed out (seen: 24 failures, 143 errors); started last they overlap only the tail.
FIRST = "tests/browser/"
LAST = "tests/faults/"
SUITES = (
    "libs/common/tests/",
    "services/identity/tests/",
    "services/coalition/tests/",
    "services/campaigns/tests/",
    "services/notifications/tests/",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # On an xdist worker `dist` reads "no"; xdist keeps whether the run is `--dist loadgroup` here.
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        group = next((stack for stack in (FIRST, LAST, *SUITES) if path.startswith(stack)), path)
        if not any(m.name == "xdist_group" for m in item.iter_markers()):
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: _rank(item.nodeid))


def _rank(nodeid: str) -> int:
    """Where a test goes in the run: the browser tests first, the fault scenarios last (a stable sort)."""
    return 0 if nodeid.startswith(FIRST) else 2 if nodeid.startswith(LAST) else 1
