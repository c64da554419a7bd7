"""coalitionctl against a real `make run` stack: health, tail, dead letters, lag, projections, keys, admin, export."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from aiokafka import AIOKafkaProducer
from bson import ObjectId
from pymongo import MongoClient
from typer.testing import CliRunner

from coalitionctl.main import NOT_FOUND, PROBLEM, REFUSED, app
from common.embedded import free_port
from launcher import ROOT, Launched

ORGS_TOPIC = "identity.organizations.v1"


def _wait(check: Callable[[], Any], what: str, within: float = 90.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {within}s waiting for {what}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def env(devstack: Launched) -> dict[str, str]:
    """coalitionctl's settings for the test stack (it defaults to `make run`'s fixed ports)."""
    document = json.loads((devstack.state_dir / "devstack-pids.json").read_text())
    assert "mongodb" in document["processes"]
    return {
        "COALITIONCTL_MONGODB_URL": f"mongodb://127.0.0.1:{devstack.env['DEVSTACK_MONGO_PORT']}/?directConnection=true",
        "COALITIONCTL_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{devstack.env['DEVSTACK_KAFKA_PORT']}",
        **{
            f"COALITIONCTL_{s.upper()}_URL": devstack.url(s)
            for s in ("identity", "coalition", "campaigns", "notifications")
        },
    }


@pytest.fixture(scope="module")
def ctl(env: dict[str, str]) -> Callable[..., Any]:
    runner = CliRunner()

    def invoke(*args: str, extra_env: dict[str, str] | None = None, expect: int = 0) -> str:
        result = runner.invoke(app, list(args), env={**env, **(extra_env or {})}, catch_exceptions=False)
        assert result.exit_code == expect, (
            f"coalitionctl {' '.join(args)} -> {result.exit_code}\n{result.output}"
        )
        return result.output

    return invoke


@pytest.fixture(scope="module")
def mongo(env: dict[str, str]) -> Iterator[MongoClient[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(
        env["COALITIONCTL_MONGODB_URL"], uuidRepresentation="standard"
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def admin_token(devstack: Launched) -> str:
    password = (devstack.state_dir / "admin-password").read_text().strip()
    response = httpx.post(
        f"{devstack.identity_url}/oauth/token",
        data={"grant_type": "password", "username": "admin@example.org", "password": password},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def organization(devstack: Launched, admin_token: str, mongo: MongoClient[dict[str, Any]]) -> str:
    """An organization registered through identity's API, seen by every service's access projection."""
    slug = f"ctl-{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{devstack.identity_url}/v1/organizations",
        json={"slug": slug, "name": "Ops Test Alliance", "kind": "patient_association", "country": "PT"},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    org_id = str(response.json()["id"])
    for service in ("coalition", "campaigns", "notifications"):
        _wait(
            lambda s=service: mongo[s]["access_orgs"].find_one({"_id": uuid.UUID(org_id)}),
            f"{service}'s projection",
        )
    return org_id


def _produce(
    env: dict[str, str],
    topic: str,
    value: bytes,
    *,
    key: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=env["COALITIONCTL_KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=False
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                topic, value, key=key, headers=[(k, v.encode()) for k, v in (headers or {}).items()]
            )
        finally:
            await producer.stop()

    asyncio.run(send())


# ---- the installed command ------------------------------------------------------------------------------
def test_the_console_script_is_installed_with_the_workspace_and_reports_health(env: dict[str, str]) -> None:
    result = subprocess.run(
        ["uv", "run", "--no-sync", "coalitionctl", "health"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("identity", "coalition", "campaigns", "notifications", "mongodb", "kafka"):
        assert any(line.startswith(name) and " ok " in line for line in result.stdout.splitlines()), (
            result.stdout
        )


def test_every_command_has_help(ctl: Callable[..., str]) -> None:
    for command in (
        [],
        ["health"],
        ["tail"],
        ["lag"],
        ["export"],
        ["dlq", "list"],
        ["dlq", "show"],
        ["dlq", "replay"],
        ["projection", "list"],
        ["projection", "rebuild"],
        ["keys", "rotate"],
        ["keys", "list"],
        ["admin", "create"],
    ):
        assert "Usage: " in ctl(*command, "--help")


# ---- health ---------------------------------------------------------------------------------------------
def test_health_says_which_service_is_down_and_exits_1(ctl: Callable[..., str]) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"

    output = ctl("health", "--json", extra_env={"COALITIONCTL_CAMPAIGNS_URL": nobody}, expect=PROBLEM)

    report = json.loads(output)
    assert report["campaigns"]["ok"] is False
    assert all(report[name]["ok"] for name in ("identity", "coalition", "notifications", "mongodb", "kafka"))


# ---- tail -----------------------------------------------------------------------------------------------
def test_tail_pretty_prints_an_organizations_events_filtered_by_type_and_org(
    ctl: Callable[..., str], organization: str
) -> None:
    output = ctl(
        "tail",
        ORGS_TOPIC,
        "--from-beginning",
        "--type",
        "identity.organization.*",
        "--org",
        organization,
        "--max",
        "1",
        "--idle",
        "60",
    )

    assert "identity.organization.registered" in output
    assert f"orgid        {organization}" in output
    assert '"name": "Ops Test Alliance"' in output


def test_tail_leaves_out_what_the_filters_do_not_match(ctl: Callable[..., str], organization: str) -> None:
    output = ctl("tail", ORGS_TOPIC, "--from-beginning", "--org", str(uuid.uuid4()), "--json", "--idle", "3")
    everything = ctl("tail", ORGS_TOPIC, "--from-beginning", "--org", organization, "--json", "--idle", "3")

    assert output.strip() == ""
    assert {json.loads(line)["orgid"] for line in everything.splitlines()} == {organization}


def test_tail_of_an_unknown_topic_exits_3(ctl: Callable[..., str]) -> None:
    assert "no topic" in ctl("tail", "no.such.topic.v1", "--idle", "1", expect=NOT_FOUND)


# ---- dead letters ---------------------------------------------------------------------------------------
def test_a_poison_message_is_listed_and_shown_from_its_dead_letter_topic(
    ctl: Callable[..., str], env: dict[str, str]
) -> None:
    marker = f"not json {uuid.uuid4().hex}"
    _produce(env, ORGS_TOPIC, marker.encode(), key=b"poison")

    def listed() -> dict[str, Any] | None:
        letters = json.loads(ctl("dlq", "list", "coalition-organizations", "--json"))
        return next((x for x in letters if x["event_id"] is None and x["reason"] == "invalid-envelope"), None)

    letter = _wait(listed, "the poison message in deadletter.coalition-organizations.v1")
    counts = json.loads(ctl("dlq", "list", "--json"))
    shown = json.loads(
        ctl("dlq", "show", "coalition-organizations", f"{letter['partition']}:{letter['offset']}")
    )

    assert counts["deadletter.coalition-organizations.v1"] >= 1
    assert letter["from"].startswith(f"{ORGS_TOPIC}[")
    assert shown["headers"]["x-dead-letter-reason"] == "invalid-envelope"
    assert shown["headers"]["x-dead-letter-consumer"] == "coalition-organizations"
    assert marker in json.dumps(shown["body"])
    ctl("dlq", "show", "coalition-organizations", f"{letter['partition']}:999999", expect=NOT_FOUND)
    dry_run = ctl("dlq", "replay", "coalition-organizations", "--all", expect=REFUSED)
    assert f"would replay {letter['partition']}:{letter['offset']} to {letter['from']}" in dry_run


def test_a_replayed_dead_letter_is_processed_once_its_cause_is_gone(
    ctl: Callable[..., str], env: dict[str, str], organization: str, mongo: MongoClient[dict[str, Any]]
) -> None:
    # The organization's registration, as if coalition's consumer had failed on it (the fault now fixed):
    # the projection lacks the organization and the dead-letter topic holds the event.
    registered = next(
        json.loads(line)
        for line in ctl(
            "tail", ORGS_TOPIC, "--from-beginning", "--org", organization, "--json", "--idle", "3"
        ).splitlines()
        if json.loads(line)["type"] == "identity.organization.registered"
    )
    db = mongo["coalition"]
    db["organizations"].delete_one({"_id": uuid.UUID(organization)})
    db["inbox"].delete_one({"_id": f"coalition-organizations:{registered['id']}"})
    _produce(
        env,
        "deadletter.coalition-organizations.v1",
        json.dumps(registered).encode(),
        key=organization.encode(),
        headers={
            "x-dead-letter-reason": "handler-failed",
            "x-dead-letter-error": "ServerSelectionTimeoutError: a test outage",
            "x-dead-letter-consumer": "coalition-organizations",
            "x-dead-letter-topic": ORGS_TOPIC,
            "x-dead-letter-partition": "0",
            "x-dead-letter-offset": "0",
        },
    )
    letter = _wait(
        lambda: next(
            (
                x
                for x in json.loads(ctl("dlq", "list", "coalition-organizations", "--json"))
                if x["event_id"] == registered["id"]
            ),
            None,
        ),
        "the dead letter",
    )
    position = f"{letter['partition']}:{letter['offset']}"

    dry_run = ctl("dlq", "replay", "coalition-organizations", position, expect=REFUSED)
    assert db["organizations"].find_one({"_id": uuid.UUID(organization)}) is None
    replayed = ctl("dlq", "replay", "coalition-organizations", position, "--yes")

    assert f"would replay {position} to {ORGS_TOPIC}" in dry_run
    assert f"-> {ORGS_TOPIC}" in replayed
    found = _wait(
        lambda: db["organizations"].find_one({"_id": uuid.UUID(organization)}), "the replayed event applied"
    )
    assert found["name"] == "Ops Test Alliance"


# ---- lag ------------------------------------------------------------------------------------------------
def test_lag_names_every_consumer_group_and_outbox_and_reaches_zero_when_caught_up(
    ctl: Callable[..., str], env: dict[str, str], organization: str
) -> None:
    report = json.loads(ctl("lag", "--json"))
    assert set(report["outbox"]) == {"identity", "coalition", "campaigns", "notifications"}
    assert {
        "coalition-organizations",
        "coalition-access",
        "campaigns-coalitions",
        "campaigns-access",
        "campaigns-aggregator",
        "notifications-identity",
        "notifications-coalition",
        "notifications-campaigns",
        "notifications-access",
    } <= set(report["consumers"])
    assert report["consumers"]["coalition-access"]["topics"] == {
        ORGS_TOPIC: report["consumers"]["coalition-access"]["lag"]
    }

    def caught_up() -> bool:
        result = CliRunner().invoke(app, ["lag", "--fail-above", "0"], env=env)
        assert result.exit_code in (0, PROBLEM), result.output
        return result.exit_code == 0

    _wait(caught_up, "every outbox and consumer group to catch up")


# ---- projections ----------------------------------------------------------------------------------------
def _content(db: Any, collections: tuple[str, ...]) -> dict[str, list[str]]:
    """A projection's documents without what a rebuild renews (generated ids, times of application)."""

    def kept(doc: dict[str, Any]) -> str:
        plain = {
            k: v
            for k, v in doc.items()
            if not isinstance(v, datetime) and not (k == "_id" and isinstance(v, ObjectId))
        }
        return json.dumps(plain, default=str, sort_keys=True)

    return {c: sorted(kept(d) for d in db[c].find()) for c in collections}


@pytest.mark.parametrize(
    ("service", "name", "collections"),
    [
        ("campaigns", "access", ("access_memberships", "access_clients", "access_orgs")),
        ("campaigns", "coalitions", ("coalitions", "memberships")),
        ("coalition", "organizations", ("organizations",)),
        ("notifications", "access", ("access_memberships", "access_clients", "access_orgs")),
    ],
)
def test_a_projection_is_rebuilt_from_its_source_topics(
    ctl: Callable[..., str],
    organization: str,
    mongo: MongoClient[dict[str, Any]],
    service: str,
    name: str,
    collections: tuple[str, ...],
) -> None:
    db = mongo[service]
    before = _content(db, collections)

    refused = ctl("projection", "rebuild", service, name, expect=REFUSED)
    assert _content(db, collections) == before
    output = ctl("--environment", "development", "projection", "rebuild", service, name, "--yes")

    assert f"would empty {', '.join(collections)} in {service}" in refused
    assert f"rebuilt {service} {name}: dropped {collections[0]} " in output
    assert _content(db, collections) == before
    if name in ("access", "organizations"):
        assert organization in json.dumps(before)


def test_the_projections_are_listed_and_an_unknown_one_is_not_found(ctl: Callable[..., str]) -> None:
    listed = ctl("projection", "list")

    for service, name, group in (
        ("coalition", "organizations", "coalition-organizations"),
        ("coalition", "access", "coalition-access"),
        ("campaigns", "coalitions", "campaigns-coalitions"),
        ("campaigns", "access", "campaigns-access"),
        ("notifications", "access", "notifications-access"),
    ):
        assert any(line.split()[:4] == [service, name, "group", group] for line in listed.splitlines()), (
            listed
        )
    assert "no projection campaigns nothing" in ctl(
        "projection", "rebuild", "campaigns", "nothing", expect=NOT_FOUND
    )


# ---- keys -----------------------------------------------------------------------------------------------
def test_rotating_the_signing_key_keeps_the_old_one_published_and_signs_with_the_new(
    ctl: Callable[..., str], devstack: Launched, admin_token: str
) -> None:
    old_kid = pyjwt.get_unverified_header(admin_token)["kid"]

    output = ctl("--environment", "development", "keys", "rotate")

    new_kid = output.split("new signing key ", 1)[1].split(";", 1)[0]
    assert new_kid != old_kid
    jwks_url = f"{devstack.identity_url}/.well-known/jwks.json"

    def published() -> set[str]:
        return {key["kid"] for key in httpx.get(jwks_url).json()["keys"]}

    _wait(lambda: {old_kid, new_kid} <= published(), "both keys in the JWKS")
    password = (devstack.state_dir / "admin-password").read_text().strip()

    def token_kid() -> str | None:
        response = httpx.post(
            f"{devstack.identity_url}/oauth/token",
            data={"grant_type": "password", "username": "admin@example.org", "password": password},
        )
        kid = pyjwt.get_unverified_header(response.json()["access_token"])["kid"]
        return kid if kid == new_kid else None

    _wait(token_kid, "a token signed with the new key")
    old_key = pyjwt.PyJWKClient(jwks_url).get_signing_key(old_kid)
    claims = pyjwt.decode(admin_token, old_key.key, algorithms=["ES256"], audience="coalition-platform")
    assert claims["padm"] is True
    listed = ctl("--environment", "development", "keys", "list")
    assert f"{new_kid}  created" in listed
    assert "current" in listed


# ---- admin ----------------------------------------------------------------------------------------------
def test_the_first_admin_is_refused_when_one_exists_and_another_can_be_added_explicitly(
    ctl: Callable[..., str], devstack: Launched
) -> None:
    email = f"ops-{uuid.uuid4().hex[:6]}@example.org"
    password = "Quartz-Lantern-Meadow-93"

    refused = ctl(
        "--environment", "development", "admin", "create", email, "--password", password, expect=REFUSED
    )
    created = ctl(
        "--environment", "development", "admin", "create", email, "--password", password, "--another"
    )

    assert "a platform admin exists (admin@example.org)" in refused
    assert f"created platform admin {email}" in created
    response = httpx.post(
        f"{devstack.identity_url}/oauth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert response.status_code == 200, response.text
    assert pyjwt.decode(response.json()["access_token"], options={"verify_signature": False})["padm"] is True


# ---- export ---------------------------------------------------------------------------------------------
def test_export_gathers_an_organizations_data_from_every_service_without_secrets(
    ctl: Callable[..., str], organization: str, tmp_path: Path
) -> None:
    archive_path = tmp_path / "export.json"

    ctl("export", organization, "--output", str(archive_path))

    archive = json.loads(archive_path.read_text())
    services = archive["services"]
    assert archive["organization_id"] == organization
    assert services["identity"]["organizations"][0]["name"] == "Ops Test Alliance"
    assert services["identity"]["memberships"][0]["role"] == "owner"
    assert services["identity"]["users (members)"][0]["email"] == "admin@example.org"
    assert services["identity"]["users (members)"][0]["password_hash"] == "[not exported: secret]"
    for service in ("coalition", "campaigns", "notifications"):
        assert services[service]["access_orgs"][0]["_id"] == organization
    assert "argon2" not in archive_path.read_text()
    ctl("export", str(uuid.uuid4()), expect=NOT_FOUND)
