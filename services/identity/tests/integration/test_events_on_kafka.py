"""Identity's events reach the real Kafka topics as CloudEvents, with no secrets in them."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from identity_api import IdentityApi

from common.contracts import topics
from common.testing.infra import Infra


async def _read_all(
    bootstrap: str, *topic_names: str, until: Any, within: float = 30.0
) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """Every record on the topics (from the start), until `until(records)` holds."""
    consumer = AIOKafkaConsumer(
        *topic_names,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[tuple[str, dict[str, str], dict[str, Any]]] = []
    try:
        async with asyncio.timeout(within):
            while not until(records):
                batch = await consumer.getmany(timeout_ms=500)
                for messages in batch.values():
                    for m in messages:
                        headers = {k: v.decode() for k, v in m.headers}
                        records.append((m.key.decode(), headers, json.loads(m.value)))
    finally:
        await consumer.stop()
    return records


async def test_registration_events_are_cloudevents_keyed_by_aggregate(
    api: IdentityApi, infra: Infra, identity_app: FastAPI
) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)

    records = await _read_all(
        infra.kafka_bootstrap_servers,
        topics.IDENTITY_ORGANIZATIONS,
        topics.IDENTITY_USERS,
        until=lambda rs: (
            {r[2]["type"] for r in rs if r[0] == org["id"]}
            >= {"identity.organization.registered", "identity.membership.granted"}
        ),
    )

    org_events = [(key, headers, event) for key, headers, event in records if key == org["id"]]
    _key, headers, registered = next(
        r for r in org_events if r[2]["type"] == "identity.organization.registered"
    )
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["traceparent"].startswith("00-")
    assert registered["specversion"] == "1.0"
    assert registered["source"] == "urn:local:identity"
    assert registered["orgid"] == org["id"]
    assert registered["subject"] == f"organizations/{org['id']}"
    assert registered["data"]["slug"] == org["slug"]
    assert registered["data"]["registered_by"] == owner.id
    assert [e["type"] for _, _, e in org_events][:2] == [
        "identity.organization.registered",
        "identity.membership.granted",
    ]
    user_events = [e for k, _, e in records if k == owner.id]
    assert user_events[0]["type"] == "identity.user.registered"


async def test_no_password_hash_secret_or_token_ever_reaches_kafka(api: IdentityApi, infra: Infra) -> None:
    owner = await api.person("owner")
    verification = await api.verification_token(owner)
    org = await api.organization(owner)
    invited = (
        await api.http.post(
            f"/v1/organizations/{org['id']}/invitations",
            json={"email": "guest@example.org"},
            headers=owner.headers,
        )
    ).json()
    client = (
        await api.http.post(
            f"/v1/organizations/{org['id']}/clients",
            json={"name": "CRM", "scopes": ["campaigns:read"]},
            headers=owner.headers,
        )
    ).json()
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    await api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )

    records = await _read_all(
        infra.kafka_bootstrap_servers,
        topics.IDENTITY_ORGANIZATIONS,
        topics.IDENTITY_USERS,
        until=lambda rs: (
            any(r[2]["type"] == "identity.api_client.created" and r[0] == org["id"] for r in rs)
            and any(
                r[2]["type"] == "identity.user.email_verification_requested" and r[0] == owner.id for r in rs
            )
        ),
    )

    everything = json.dumps([event for _, _, event in records])
    for secret in (
        owner.password,
        owner.token,
        owner.refresh_token,
        invited["token"],
        verification,
        client["client_secret"],
        "$argon2",
    ):
        assert secret not in everything
    created = next(e for k, _, e in records if e["type"] == "identity.api_client.created" and k == org["id"])
    assert created["data"]["client_id"] == client["client_id"]
    assert set(created["data"]) == {"organization_id", "client_id", "name", "scopes", "created_by"}
