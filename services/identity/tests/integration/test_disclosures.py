"""Funding disclosures: an organization's owners and admins declare its funders, its members read the
declaration, `identity.organization.disclosures_updated` carries it whole; bad declarations are 422."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from identity_api import IdentityApi, Person, assert_problem

from common.contracts import topics
from common.testing.infra import Infra

FUNDERS = [
    {
        "name": "Acme Pharma",
        "kind": "pharmaceutical",
        "amount_band": "10k_50k",
        "year": 2025,
        "purpose": "Unrestricted grant for the helpline",
    },
    {"name": "City of Porto", "kind": "government", "amount_band": "under_10k", "year": 2025},
]


async def _records(bootstrap: str, key: str, event_type: str, within: float = 30.0) -> list[dict[str, Any]]:
    """The events of `event_type` keyed `key` on identity's organizations topic (read from its start)."""
    consumer = AIOKafkaConsumer(
        topics.IDENTITY_ORGANIZATIONS,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(within):
            while not found:
                batch = await consumer.getmany(timeout_ms=500)
                for messages in batch.values():
                    for m in messages:
                        event = json.loads(m.value)
                        if m.key.decode() == key and event["type"] == event_type:
                            found.append(event)
    finally:
        await consumer.stop()
    return found


async def test_admins_declare_funding_members_read_it_and_the_event_carries_it(
    api: IdentityApi, infra: Infra
) -> None:
    owner = await api.person("declaring-owner")
    org = await api.organization(owner)
    member = await api.add_member(org["id"], owner, role="member", name="reader")
    declared_at = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    url = f"/v1/organizations/{org['id']}/disclosures"

    before = await api.http.get(url, headers=member.headers)
    put = await api.http.put(
        url, json={"funders": FUNDERS, "declared_at": declared_at.isoformat()}, headers=owner.headers
    )
    read = await api.http.get(url, headers=member.headers)
    by_member = await api.http.put(url, json={"funders": []}, headers=member.headers)

    assert before.status_code == 200
    assert (before.json()["funders"], before.json()["declared_at"]) == ([], None)
    assert put.status_code == 200, put.text
    assert read.json()["funders"] == [{**f, "purpose": f.get("purpose")} for f in FUNDERS]
    assert datetime.fromisoformat(read.json()["declared_at"]) == declared_at
    assert read.json()["declared_by"] == owner.id
    assert_problem(by_member, 403)
    [event] = await _records(
        infra.kafka_bootstrap_servers, org["id"], "identity.organization.disclosures_updated"
    )
    assert event["data"]["organization_id"] == org["id"]
    assert [f["name"] for f in event["data"]["funders"]] == ["Acme Pharma", "City of Porto"]
    assert event["data"]["funders"][0]["amount_band"] == "10k_50k"
    assert datetime.fromisoformat(event["data"]["declared_at"]) == declared_at
    assert event["data"]["updated_by"] == owner.id


@pytest.fixture(scope="module")
async def careless(http: httpx.AsyncClient) -> tuple[Person, dict[str, Any]]:
    """One organization for every bad declaration (a refused one changes nothing)."""
    api = IdentityApi(http)
    owner = await api.person("careless-owner")
    return owner, await api.organization(owner)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"funders": [{**FUNDERS[0], "kind": "tobacco"}]}, "kind"),
        ({"funders": [{**FUNDERS[0], "amount_band": "42000"}]}, "amount_band"),
        ({"funders": [{**FUNDERS[0], "year": 1850}]}, "year"),
        ({"funders": [{**FUNDERS[0], "name": "Acme\u202ePharma"}]}, "name"),
        ({"funders": [{**FUNDERS[0], "purpose": "line one\nline two"}]}, "purpose"),
        ({"funders": [{**FUNDERS[0], "name": ""}]}, "name"),
        ({"funders": [FUNDERS[0], {**FUNDERS[0], "name": "ACME PHARMA"}]}, "funders.1"),
        ({"funders": [{**FUNDERS[0], "year": datetime.now(UTC).year + 1}]}, "year"),
        ({"declared_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "declared_at"),
        ({"declared_at": "2026-01-01T00:00:00"}, "declared_at"),  # no time zone
        ({"funders": [FUNDERS[1]] * 101}, "funders"),
    ],
)
async def test_a_bad_declaration_is_refused_with_the_field_named(
    api: IdentityApi, careless: tuple[Person, dict[str, Any]], change: dict[str, Any], field: str
) -> None:
    owner, org = careless

    response = await api.http.put(
        f"/v1/organizations/{org['id']}/disclosures",
        json={"funders": FUNDERS, **change},
        headers=owner.headers,
    )

    assert_problem(response, 422)
    assert field.split(".")[-1] in response.text


async def test_a_deactivated_organization_declares_nothing(api: IdentityApi) -> None:
    owner = await api.person("closing-owner")
    org = await api.organization(owner)
    closed = await api.http.post(f"/v1/organizations/{org['id']}/deactivate", json={}, headers=owner.headers)
    assert closed.status_code == 200, closed.text

    response = await api.http.put(
        f"/v1/organizations/{org['id']}/disclosures", json={"funders": FUNDERS}, headers=owner.headers
    )

    assert_problem(response, 409)
