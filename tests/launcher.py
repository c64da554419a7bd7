"""Launching `make run`'s embedded stack (deploy/local/run.py) on free ports, for tests.

Besides the URLs, a `Launched` stack tells the PID of each piece (`pids()`: identity, coalition, campaigns,
notifications, mongodb, kafka, smtp, from the launcher's PID file), keeps what the launcher says on its console
(`output()`), and can kill a service and wait for the launcher to restart it (`kill_service`, `wait_restarted`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from common.devstack import PIDS_FILE, process_start_ticks
from common.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "deploy/local/run.py"


@dataclass
class Launched:
    process: subprocess.Popen[str]
    env: dict[str, str]
    banner: str
    lines: list[str] = field(default_factory=list)

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

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.env[f'DEVSTACK_{service.upper()}_PORT']}"

    def output(self) -> str:
        """Everything the launcher printed on its console so far."""
        return "".join(list(self.lines))

    def pids(self) -> dict[str, int]:
        """The PID of every piece the launcher runs now, by name (services, mongodb, kafka, smtp)."""
        document = json.loads((self.state_dir / PIDS_FILE).read_text())
        return {name: int(record["pid"]) for name, record in document["processes"].items()}

    def kill_service(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
        """Send `sig` to a service (SIGKILL by default) and wait until it is gone; returns its PID."""
        pid = self.pids()[name]
        os.kill(pid, sig)
        deadline = time.monotonic() + 60
        while process_start_ticks(pid) is not None and not _is_zombie(pid):
            assert time.monotonic() < deadline, f"{name} (PID {pid}) did not exit"
            time.sleep(0.05)
        return pid

    def wait_restarted(self, name: str, old_pid: int, *, within: float = 120) -> int:
        """Wait until the launcher has restarted `name` under a new PID and it answers /readyz; its PID."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            pid = self.pids().get(name)
            if pid is not None and pid != old_pid and _ready(self.url(name)):
                return pid
            time.sleep(0.2)
        raise AssertionError(f"{name} was not restarted within {within}s:\n{self.output()}")

    def freeze(self, name: str) -> None:
        """SIGSTOP a piece (e.g. mongodb, kafka): it holds its connections but answers nothing."""
        os.kill(self.pids()[name], signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        os.kill(self.pids()[name], signal.SIGCONT)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    """Keep reading the launcher's console so that it never blocks on a full pipe."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


def launch(
    state_dir: Path, *, log_path: Path | None = None, extra_env: dict[str, str] | None = None
) -> Launched:
    """Start the stack; with `log_path`, every service's log lines (stderr) are kept in that file.

    `extra_env` is added to the launcher's environment (and so to every service's), e.g. DEVSTACK_STOP_TIMEOUT.
    """
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
        **(extra_env or {}),
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
            launched = Launched(process, env, "".join(lines), lines)
            threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
            return launched
    process.kill()
    raise AssertionError("the stack did not start:\n" + "".join(lines))
