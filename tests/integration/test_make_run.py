"""`make run`'s launcher: starts real servers and the services, refuses a second launch, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jwt as pyjwt
import pytest

from common.embedded import free_port, port_in_use

ROOT = Path(__file__).resolve().parents[2]


def _request(
    url: str, data: dict[str, str] | None = None, body: dict[str, object] | None = None
) -> dict[str, object]:
    if body is not None:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
    elif data is not None:
        request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode())
    else:
        request = urllib.request.Request(url)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return dict(json.loads(response.read()))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    env = {
        **os.environ,
        "COALITION_MONGO_PORT": str(free_port()),
        "COALITION_KAFKA_PORT": str(free_port()),
        "COALITION_IDENTITY_PORT": str(free_port()),
        "COALITION_STATE_DIR": str(tmp_path_factory.mktemp("devstack")),
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy/local/run.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    banner: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        banner.append(line)
        if "Press Ctrl-C" in line:
            break
    assert any("identity" in line for line in banner), "".join(banner)
    yield process, env
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_identity_serves_and_its_tokens_verify_against_its_jwks(
    stack: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    _, env = stack
    base = f"http://127.0.0.1:{env['COALITION_IDENTITY_PORT']}"
    password = (Path(env["COALITION_STATE_DIR"]) / "admin-password").read_text().strip()

    tokens = _request(
        f"{base}/oauth/token",
        data={"grant_type": "password", "username": "admin@example.org", "password": password},
    )
    signing_key = pyjwt.PyJWKClient(f"{base}/.well-known/jwks.json").get_signing_key_from_jwt(
        str(tokens["access_token"])
    )
    claims = pyjwt.decode(
        str(tokens["access_token"]),
        signing_key.key,
        algorithms=["ES256"],
        audience="coalition-platform",
        issuer=base,
    )

    assert claims["padm"] is True
    assert _request(f"{base}/readyz")["status"] == "ready"


def test_a_second_launch_says_one_is_running(stack: tuple[subprocess.Popen[str], dict[str, str]]) -> None:
    process, env = stack

    second = subprocess.run(
        [sys.executable, str(ROOT / "deploy/local/run.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert second.returncode == 1
    assert f"already running (PID {process.pid}" in second.stdout


def test_sigterm_stops_every_server_it_started(stack: tuple[subprocess.Popen[str], dict[str, str]]) -> None:
    process, env = stack
    ports = [int(env[k]) for k in ("COALITION_MONGO_PORT", "COALITION_KAFKA_PORT", "COALITION_IDENTITY_PORT")]

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=60) == 0
    assert [port for port in ports if port_in_use(port)] == []
