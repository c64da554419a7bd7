"""`make run`'s launcher: starts real servers and the services, refuses a second launch, restarts a crashed
service, takes its children with it however it dies, cleans up after an earlier crash, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import jwt as pyjwt
import pytest

from common.devstack import (
    PIDS_FILE,
    SERVICES,
    DevStack,
    DevStackSettings,
    ServiceSpec,
    Supervised,
    process_start_ticks,
)
from common.embedded import free_port, port_in_use
from launcher import LAUNCHER, ROOT, Launched, launch

STOP_TIMEOUT = 15  # DEVSTACK_STOP_TIMEOUT of the stacks these tests stop


def _post_form(url: str, data: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.loads(response.read()))


def test_the_banner_names_every_running_piece(devstack: Launched) -> None:
    for expected in ("identity", devstack.identity_url, "mongodb://", "kafka", "admin-password"):
        assert expected in devstack.banner


def test_identity_serves_and_its_tokens_verify_against_its_jwks_with_pyjwt(devstack: Launched) -> None:
    base = devstack.identity_url
    password = (Path(devstack.env["DEVSTACK_STATE_DIR"]) / "admin-password").read_text().strip()

    tokens = _post_form(
        f"{base}/oauth/token",
        {"grant_type": "password", "username": "admin@example.org", "password": password},
    )
    token = str(tokens["access_token"])
    signing_key = pyjwt.PyJWKClient(f"{base}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = pyjwt.decode(
        token, signing_key.key, algorithms=["ES256"], audience="coalition-platform", issuer=base
    )

    assert claims["padm"] is True
    assert _get(f"{base}/readyz") == {"status": "ready", "checks": {"mongodb": "ok", "kafka": "ok"}}


def test_a_second_launch_says_one_is_running(devstack: Launched) -> None:
    second = subprocess.run(
        [sys.executable, str(LAUNCHER)],
        env=devstack.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert second.returncode == 1
    assert f"already running (PID {devstack.process.pid}" in second.stdout


def test_busy_ports_are_named_instead_of_failing_obscurely(devstack: Launched, tmp_path: Path) -> None:
    env = {**devstack.env, "DEVSTACK_STATE_DIR": str(tmp_path)}  # another state dir: the lock is free

    second = subprocess.run(
        [sys.executable, str(LAUNCHER)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert second.returncode == 1
    assert f"MongoDB port {devstack.env['DEVSTACK_MONGO_PORT']}" in second.stdout
    assert "DEVSTACK_MONGO_PORT" in second.stdout


def test_a_crashed_service_is_restarted_and_the_console_says_so(devstack: Launched) -> None:
    # identity: it has no consumer group, so the shared stack's later tests see no rebalance.
    old_pid = devstack.kill_service("identity")

    new_pid = devstack.wait_restarted("identity", old_pid)

    assert new_pid != old_pid
    assert f"identity (PID {old_pid}) exited with code -9 (SIGKILL); restarting it in" in devstack.output()
    assert f"restarted identity (restart #1, PID {new_pid})" in devstack.output()
    password = (devstack.state_dir / "admin-password").read_text().strip()
    tokens = _post_form(
        f"{devstack.identity_url}/oauth/token",
        {"grant_type": "password", "username": "admin@example.org", "password": password},
    )
    assert tokens["token_type"] == "Bearer"


def _alive(pid: int) -> bool:
    return process_start_ticks(pid) is not None


def _wait_until(check: object, what: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out after {within}s waiting for {what}"
        time.sleep(0.1)


def _orphan_listening_on(port: int) -> subprocess.Popen[bytes]:
    """A process holding `port` in its own session, as a server left by an earlier, killed run would."""
    code = (
        "import socket, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port})); s.listen(); print('ok', flush=True); time.sleep(600)\n"
    )
    orphan = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True)
    assert orphan.stdout is not None
    assert orphan.stdout.readline() == b"ok\n"
    return orphan


def test_sigkill_of_the_launcher_leaves_nothing_and_the_next_start_cleans_up_and_sigterm_stops_in_time(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    state = tmp_path_factory.mktemp("killed")
    first = launch(
        state, extra_env={"DEVSTACK_STOP_TIMEOUT": str(STOP_TIMEOUT), "DEVSTACK_LOG_FORMAT": "json"}
    )
    children = first.pids()
    assert set(children) == {
        "identity",
        "coalition",
        "campaigns",
        "notifications",
        "mongodb",
        "kafka",
        "smtp",
    }
    # Asked for JSON, the launcher's console is JSON lines like the services' logs.
    console = [json.loads(line) for line in first.output().splitlines() if line.strip()]
    assert all(
        entry["service"] == "devstack" and {"time", "level", "message"} <= set(entry) for entry in console
    )
    assert any("Press Ctrl-C" in entry["message"] for entry in console)

    # SIGKILL: no handler runs in the launcher; its children must go by themselves (parent-death signal).
    first.process.kill()
    first.process.wait(timeout=30)
    _wait_until(
        lambda: not any(_alive(pid) for pid in children.values()), "every child to die with the launcher"
    )
    _wait_until(lambda: not any(port_in_use(port) for port in first.ports), "every port to be free")

    # The next start finds the stale PID file; an orphan of an earlier run holds a port it needs.
    assert (state / PIDS_FILE).exists()
    mongo_port = free_port()
    orphan = _orphan_listening_on(mongo_port)
    document = json.loads((state / PIDS_FILE).read_text())
    document["processes"]["mongodb"] = {"pid": orphan.pid, "start_ticks": process_start_ticks(orphan.pid)}
    (state / PIDS_FILE).write_text(json.dumps(document))
    try:
        second = launch(
            state,
            extra_env={"DEVSTACK_STOP_TIMEOUT": str(STOP_TIMEOUT), "DEVSTACK_MONGO_PORT": str(mongo_port)},
        )
    finally:
        if orphan.poll() is None:
            orphan.kill()
        orphan.wait(timeout=10)
    assert (
        f"stopping mongodb (PID {orphan.pid}) left running by an earlier run that was cut short"
        in second.banner
    )
    assert orphan.returncode == -signal.SIGTERM
    assert _get(f"{second.identity_url}/readyz")["status"] == "ready"

    # SIGTERM: the launcher stops everything itself, killing what outlives its bound.
    children = second.pids()
    second.process.send_signal(signal.SIGTERM)
    exit_code = second.process.wait(timeout=STOP_TIMEOUT + 60)

    assert exit_code == 0
    assert "[make run] stopped everything in" in second.output()
    assert [name for name, pid in children.items() if _alive(pid)] == []
    assert [port for port in second.ports if port_in_use(port)] == []
    assert not (state / PIDS_FILE).exists()


def test_a_port_held_by_another_program_is_named_with_its_pid(devstack: Launched, tmp_path: Path) -> None:
    port = free_port()
    holder = _orphan_listening_on(port)
    try:
        env = {**devstack.env, "DEVSTACK_STATE_DIR": str(tmp_path), "DEVSTACK_SMTP_PORT": str(port)}
        second = subprocess.run(
            [sys.executable, str(LAUNCHER)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)

    assert second.returncode == 1
    assert f"SMTP sink port {port} (set DEVSTACK_SMTP_PORT), held by PID {holder.pid}" in second.stdout


class _CrashingStack(DevStack):
    """A DevStack whose services exit at once with code 3 (no servers started): the supervisor alone."""

    def _spawn(self, spec: ServiceSpec) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
        self.services[spec.name] = process
        previous = self.supervised.get(spec.name)
        self.supervised[spec.name] = Supervised(
            process=process,
            started_at=time.monotonic(),
            restarts=previous.restarts if previous else 0,
            backoff=previous.backoff if previous else 0.0,
        )
        return process


def test_a_service_that_keeps_crashing_is_restarted_with_a_doubling_back_off_up_to_its_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = DevStackSettings(state_dir=tmp_path, restart_max_seconds=2.0, restart_reset_seconds=600)
    stack = _CrashingStack(settings)
    spec = SERVICES[0]
    stack._spawn(spec)
    pauses: list[float] = []
    try:
        for _ in range(3):
            crashed = stack.supervised[spec.name]
            crashed.process.wait(timeout=30)
            _supervise_until(stack, lambda c=crashed: c.restart_at is not None, "a restart planned")
            pauses.append(crashed.backoff)
            _supervise_until(stack, lambda c=crashed: stack.supervised[spec.name] is not c, "the restart")
    finally:
        for process in stack.services.values():
            process.wait(timeout=30)

    assert pauses == [1.0, 2.0, 2.0]
    console = capsys.readouterr().out
    assert f"{spec.name} (PID" in console
    assert "exited with code 3; restarting it in 1s" in console
    assert "exited with code 3; restarting it in 2s" in console
    assert f"restarted {spec.name} (restart #3, PID" in console


def _supervise_until(stack: DevStack, done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        stack.supervise()
        time.sleep(0.05)
