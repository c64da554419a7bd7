"""The committed OpenAPI and AsyncAPI documents match what the code generates (`make docs`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from launcher import ROOT

SERVICES = ["identity", "coalition", "campaigns", "notifications"]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", ["openapi", "asyncapi"])
def test_generated_document_is_committed(service: str, kind: str) -> None:
    generated = subprocess.run(
        [sys.executable, "-m", service, kind],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    committed = ROOT / "docs" / kind / f"{service}.json"

    assert committed.exists(), f"run `make docs`: {committed} is missing"
    assert json.loads(committed.read_text()) == json.loads(generated.stdout), (
        f"run `make docs`: {committed} is stale"
    )
