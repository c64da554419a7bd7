"""Launching `make run`'s embedded stack (deploy/local/run.py) on free ports, for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "deploy/local/run.py"


@dataclass
class Launched:
    process: subprocess.Popen[str]
    env: dict[str, str]
    banner: str

    @property
    def identity_url(self) -> str:
        return f"http://127.0.0.1:{self.env['DEVSTACK_IDENTITY_PORT']}"

    @property
    def coalition_url(self) -> str:
        return f"http://127.0.0.1:{self.env['DEVSTACK_COALITION_PORT']}"

    @property
    def campaigns_url(self) -> str:
        return f"http://127.0.0.1:{self.env['DEVSTACK_CAMPAIGNS_PORT']}"

    @property
    def notifications_url(self) -> str:
        return f"http://127.0.0.1:{self.env['DEVSTACK_NOTIFICATIONS_PORT']}"

    @property
    def state_dir(self) -> Path:
        return Path(self.env["DEVSTACK_STATE_DIR"])

    @property
    def ports(self) -> list[int]:
        return [int(v) for k, v in self.env.items() if k.startswith("DEVSTACK_") and k.endswith("_PORT")]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def launch(state_dir: Path, *, log_path: Path | None = None) -> Launched:
    """Start the stack; with `log_path`, every service's log lines (stderr) are kept in that file."""
    env = {
        **os.environ,
        "DEVSTACK_MONGO_PORT": str(free_port()),
        "DEVSTACK_KAFKA_PORT": str(free_port()),
        "DEVSTACK_IDENTITY_PORT": str(free_port()),
        "DEVSTACK_COALITION_PORT": str(free_port()),
        "DEVSTACK_CAMPAIGNS_PORT": str(free_port()),
        "DEVSTACK_NOTIFICATIONS_PORT": str(free_port()),
        "DEVSTACK_SMTP_PORT": str(free_port()),
        "DEVSTACK_STATE_DIR": str(state_dir),
    }
    log = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    if log_path is not None:
        log.close()  # type: ignore[union-attr]
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            return Launched(process, env, "".join(lines))
    process.kill()
    raise AssertionError("the stack did not start:\n" + "".join(lines))
