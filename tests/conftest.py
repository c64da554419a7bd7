"""Cross-service tests: contracts, outbox and inbox on real servers, the embedded stack, the README."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from launcher import Launched, launch


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    """One `make run` stack (deploy/local/run.py) on free ports, shared by the tests that need it."""
    launched = launch(tmp_path_factory.mktemp("devstack"))
    yield launched
    launched.stop()
