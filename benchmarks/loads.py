"""The load generators, each in its own process: wrk (closed loop) and benchmarks.openloop (open loop)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LUA = HERE / "intake.lua"


def ensure_wrk() -> str:
    """wrk from Debian's packages; installed here when missing and we are root, else say what to do."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", flush=True)
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, capture_output=True, check=False).returncode != 0:  # noqa: S603
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)  # noqa: S607
            subprocess.run(install, capture_output=True, check=False)  # noqa: S603
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "make bench needs wrk (the HTTP load generator): `sudo apt-get install wrk` on Debian or Ubuntu, "
        "`brew install wrk` on macOS, then run it again."
    )


@dataclass
class WrkResult:
    target: str
    connections: int
    sent: int
    ok: int
    non2xx: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    unknown: int = 0  # 5xx answers other than `busy`: the action may have been committed

    @property
    def rps(self) -> float:
        """2xx responses per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def in_flight(self) -> int:
        """Requests written but not answered when wrk stopped (the service still completes them), and
        those answered with a 5xx other than `busy` (the service may have committed them)."""
        return max(self.sent - self.ok - self.non2xx, 0) + self.unknown


def _wrk_command(url: str, paths: list[str], connections: int, seconds: float, run_id: str) -> list[str]:
    threads = 1 if connections < 64 else 2
    return [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        url,
        "--",
        run_id,
        *paths,
    ]


def _parse(target: str, connections: int, output: str, stderr: str) -> WrkResult:
    line = next((x for x in output.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result:\n{output}\n{stderr}")
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        target=target,
        connections=connections,
        sent=data["sent"],
        ok=data["ok"],
        non2xx=data["non2xx"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
        unknown=data.get("unknown", 0),
    )


def wrk(target: str, url: str, paths: list[str], connections: int, seconds: float, run_id: str) -> WrkResult:
    command = _wrk_command(url, paths, connections, seconds, run_id)
    done = subprocess.run(  # noqa: S603 - wrk with our own arguments
        command, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    return _parse(target, connections, done.stdout, done.stderr)


def wrk_together(target: str, jobs: list[tuple[str, list[str], int, str]], seconds: float) -> list[WrkResult]:
    """Several wrk processes at once (url, paths, connections, run id each)."""
    processes = []
    try:
        for url, paths, connections, run_id in jobs:
            processes.append(
                subprocess.Popen(  # noqa: S603 - wrk with our own arguments
                    _wrk_command(url, paths, connections, seconds, run_id),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        results = []
        for process, (_, _, connections, _) in zip(processes, jobs, strict=True):
            out, err = process.communicate(timeout=seconds + 120)
            results.append(_parse(target, connections, out, err))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def open_loop(url: str, ref: str, rate: float, seconds: float, run_id: str) -> dict[str, Any]:
    """benchmarks.openloop in its own process; its JSON outcome."""
    command = [sys.executable, "-m", "benchmarks.openloop", "--url", url, "--ref", ref]
    command += ["--rate", f"{rate:g}", "--seconds", f"{seconds:g}", "--run", run_id]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        command, capture_output=True, text=True, timeout=seconds * 4 + 300, check=False, cwd=HERE.parent
    )
    if done.returncode != 0:
        raise RuntimeError(f"the open-loop generator failed: {done.stderr[-2000:]}")
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome
