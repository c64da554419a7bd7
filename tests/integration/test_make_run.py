"""`make run`'s launcher: starts real servers and the services, refuses a second launch, stops cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import jwt as pyjwt
import pytest

from common.embedded import port_in_use
from launcher import LAUNCHER, ROOT, Launched, launch


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


def test_sigterm_stops_every_server_it_started(tmp_path_factory: pytest.TempPathFactory) -> None:
    launched = launch(tmp_path_factory.mktemp("stopping"))

    exit_code = launched.stop()

    assert exit_code == 0
    assert [port for port in launched.ports if port_in_use(port)] == []
