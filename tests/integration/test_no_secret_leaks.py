"""No secret leaves where it belongs: passwords, tokens, client secrets, supporter tokens, webhook
signing secrets and verification tokens never appear in any service's log lines, in any message on
any Kafka topic, or in clear in any MongoDB database of the platform.

One real `make run` stack (every service its own process), driven through its public APIs the way the
README walks through it, with every service's logs kept; then the three places are read in full.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from common.links import ACTION_CONFIRMATION, DEVELOPMENT_LINK_SECRET, SUPPORTER_PAGES, derive_link_token
from common.testing.altcha import solve
from kafka_records import read_to_end
from launcher import Launched, launch

PASSWORD = "amber harbour lantern 2031"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Launched, Path]]:
    state = tmp_path_factory.mktemp("leaks")
    log = state / "services.log"
    launched = launch(state / "run", log_path=log)
    try:
        yield launched, log
    finally:
        launched.stop()


def ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json() if response.content else None


def retry(call: Any, *statuses: int, within: float = 60) -> Any:
    """Calls that depend on another service's projection succeed a moment later."""
    deadline = time.monotonic() + within
    while True:
        response = call()
        if response.status_code in statuses or time.monotonic() > deadline:
            return ok(response, *statuses)
        time.sleep(0.2)


def pages_token(stack: Launched) -> str:
    """The own-pages token of the one held action: derived from the id its pending event carries."""
    mongo = MongoClient(
        f"mongodb://127.0.0.1:{stack.env['DEVSTACK_MONGO_PORT']}/?directConnection=true",
        uuidRepresentation="standard",
    )
    held = mongo["campaigns"]["pending_actions"].find_one({})
    assert held is not None
    return derive_link_token(DEVELOPMENT_LINK_SECRET, SUPPORTER_PAGES, held["supporter_ref"])


def exercise(stack: Launched) -> dict[str, str]:
    """Create one of each secret through the APIs; returns them by name."""
    secrets: dict[str, str] = {"password": PASSWORD}
    email = f"leak-{uuid.uuid4().hex[:8]}@example.org"
    with (
        httpx.Client(base_url=stack.identity_url, timeout=30) as identity,
        httpx.Client(base_url=stack.campaigns_url, timeout=30) as campaigns,
        httpx.Client(base_url=stack.notifications_url, timeout=30) as notifications,
    ):
        ok(identity.post("/v1/users", json={"email": email, "password": PASSWORD, "display_name": "Lea"}))
        login = {"grant_type": "password", "username": email, "password": PASSWORD}
        tokens = ok(identity.post("/oauth/token", data=login))
        auth = {"authorization": f"Bearer {tokens['access_token']}"}
        # Only a verified address may own an organization: verify it first.
        verification = ok(identity.post("/v1/users/me/email-verification", headers=auth), 202)
        secrets.update(
            {f"verification_{k}": v for k, v in verification.items() if "token" in k and isinstance(v, str)}
        )
        ok(identity.post("/v1/users/email-verification/confirm", json={"token": verification["token"]}))
        org = ok(
            identity.post(
                "/v1/organizations",
                json={
                    "slug": f"leak-{uuid.uuid4().hex[:6]}",
                    "name": f"Leak Watch {uuid.uuid4().hex[:6]}",
                    "kind": "patient_association",
                    "country": "PT",
                },
                headers=auth,
            )
        )
        tokens = ok(
            identity.post(
                "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            )
        )
        secrets["refresh_token"] = tokens["refresh_token"]
        secrets["access_token"] = tokens["access_token"]
        auth = {"authorization": f"Bearer {tokens['access_token']}"}
        client = ok(
            identity.post(
                f"/v1/organizations/{org['id']}/clients",
                json={"name": "crm", "scopes": ["campaigns:read"]},
                headers=auth,
            )
        )
        secrets["client_secret"] = client["client_secret"]
        granted = ok(
            identity.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": "campaigns:read"},
                auth=(client["client_id"], client["client_secret"]),
            )
        )
        secrets["client_access_token"] = granted["access_token"]
        deadline = "2030-01-01T00:00:00Z"
        campaign = retry(
            lambda: campaigns.post(
                "/v1/campaigns",
                json={
                    "organization_id": org["id"],
                    "kind": "petition",
                    "title": "Screen every newborn",
                    "details": {"text": "Fund screening.", "target": {"name": "Minister of Health"}},
                    "goal": {
                        "metric": "actions",
                        "action_kind": "signature",
                        "target": 10,
                        "deadline": deadline,
                    },
                    "double_opt_in": False,  # the verified petition below has the e-mailed links
                },
                headers=auth,
            ),
            201,
        )
        ok(campaigns.post(f"/v1/campaigns/{campaign['id']}/launch", headers=auth))
        links = ok(campaigns.get(f"/v1/campaigns/{campaign['id']}/links", headers=auth))
        ref = links[0]["ref"]
        versions = {
            c["purpose"]: c["version"] for c in ok(campaigns.get(f"/v1/public/links/{ref}"))["consent_texts"]
        }
        signed = ok(
            campaigns.post(
                f"/v1/public/links/{ref}/signatures",
                json={
                    "supporter": {"email": f"sup-{uuid.uuid4().hex[:6]}@example.net", "first_name": "Ana"},
                    "consents": {"contact_by_organization": versions["contact_by_organization"]},
                    "altcha": solve(ok(campaigns.get("/v1/public/challenge"))),  # make run requires it
                },
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            201,
        )
        secrets["supporter_token"] = signed["supporter_token"]
        ok(campaigns.post("/v1/public/supporter", json={"token": signed["supporter_token"]}))
        # A verified petition (double opt-in): the confirmation and own-pages links' tokens are derived
        # from ids that travel on Kafka (the stack runs with the development link signing secret).
        verified = ok(
            campaigns.post(
                "/v1/campaigns",
                json={
                    "organization_id": org["id"],
                    "kind": "petition",
                    "title": "Verified signatures",
                    "details": {"text": "Fund screening.", "target": {"name": "Minister of Health"}},
                    "goal": {"metric": "unique_supporters", "target": 10, "deadline": deadline},
                },
                headers=auth,
            ),
            201,
        )
        ok(campaigns.post(f"/v1/campaigns/{verified['id']}/launch", headers=auth))
        verified_ref = ok(campaigns.get(f"/v1/campaigns/{verified['id']}/links", headers=auth))[0]["ref"]
        held = ok(
            campaigns.post(
                f"/v1/public/links/{verified_ref}/signatures",
                json={
                    "supporter": {"email": f"held-{uuid.uuid4().hex[:6]}@example.net", "first_name": "Rui"},
                    "altcha": solve(ok(campaigns.get("/v1/public/challenge"))),
                },
            ),
            202,
        )
        secrets["confirmation_token"] = derive_link_token(
            DEVELOPMENT_LINK_SECRET, ACTION_CONFIRMATION, uuid.UUID(held["action"]["id"])
        )
        ok(campaigns.post("/v1/public/confirmations", json={"token": secrets["confirmation_token"]}))
        mine = retry(lambda: campaigns.post("/v1/public/supporter", json={"token": pages_token(stack)}), 200)
        secrets["pages_token"] = pages_token(stack)
        assert mine["first_name"] == "Rui"
        endpoint = retry(
            lambda: notifications.post(
                f"/v1/organizations/{org['id']}/webhooks",
                json={
                    "url": "http://127.0.0.1:9/hooks",
                    "event_types": ["campaigns.*"],
                    "description": "leak",
                },
                headers=auth,
            ),
            201,
        )
        secrets["webhook_secret"] = endpoint["secret"]
    return secrets


async def kafka_values(bootstrap: str) -> list[bytes]:
    """Every record (headers, key and value) on every topic of the broker."""
    return [record.everything for record in await read_to_end(bootstrap)]


def test_no_secret_is_logged_published_or_stored_in_clear(stack: tuple[Launched, Path]) -> None:
    launched, log = stack
    secrets = exercise(launched)
    assert len(secrets) >= 8, secrets.keys()
    time.sleep(3)  # let relays publish and consumers log what they do with the events

    bootstrap = f"127.0.0.1:{launched.env['DEVSTACK_KAFKA_PORT']}"
    messages = asyncio.run(kafka_values(bootstrap))
    assert messages, "the platform published nothing"
    mongo = MongoClient(f"mongodb://127.0.0.1:{launched.env['DEVSTACK_MONGO_PORT']}/?directConnection=true")
    stored: list[str] = []
    for name in mongo.list_database_names():
        if name in ("admin", "local", "config"):
            continue
        for collection in mongo[name].list_collection_names():
            stored.extend(
                f"{name}.{collection}: {json.dumps(d, default=str)}" for d in mongo[name][collection].find()
            )
    mongo.close()
    logged = log.read_text(errors="replace")
    assert logged.strip(), "no service logged anything"

    for name, value in secrets.items():
        assert value not in logged, f"{name} appears in a log line"
        assert not any(value.encode() in m for m in messages), f"{name} appears on a Kafka topic"
        leaked = [doc[:120] for doc in stored if value in doc]
        assert not leaked, f"{name} is stored in clear: {leaked}"
