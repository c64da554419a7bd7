"""Petition delivery: the PDF and the CSV name exactly the signatories who consented to appear, their
totals are the statistics', and the delivery is announced on the campaigns and federation topics
without any personal data; an e-mailed delivery is delivered when the notifications service says so."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from campaigns_world import CampaignsWorld, problem, supporter
from coalition_world import Org
from fastapi import FastAPI
from identity_api import IdentityApi
from pypdf import PdfReader
from targets_world import BRUSSELS, imported, report

from common.contracts import notifications as notes
from common.contracts import topics
from eventually import eventually


@dataclass(frozen=True)
class Petition:
    world: CampaignsWorld
    lead: Org
    member: Org
    campaign_id: str
    target: dict[str, Any]
    named: set[str]
    unnamed: set[str]
    people: list[dict[str, Any]]


@pytest.fixture(scope="module")
async def petition(
    identity_http: httpx.AsyncClient,
    coalition_http: httpx.AsyncClient,
    coalition_app: FastAPI,
    campaigns_http: httpx.AsyncClient,
    campaigns_app: FastAPI,
) -> Petition:
    """A coalition petition signed through the lead's and the member's links, three of five signatories
    agreeing to be named in the delivery."""
    cw = CampaignsWorld(
        IdentityApi(identity_http), coalition_http, coalition_app, campaigns_http, campaigns_app
    )
    lead, member = await cw.org("pleader"), await cw.org("pmember")
    coalition = await cw.shared_coalition(lead, member)
    (target,) = await imported(cw, lead, BRUSSELS[2:3], coalition_id=coalition["id"])
    campaign_id = str((await cw.launched(lead, "petition", coalition["id"]))["id"])
    member_ref = await cw.adopt(campaign_id, member)
    lead_ref = await cw.link_of(campaign_id, lead)
    signers = [
        (lead_ref, supporter("zoë", postal_code="1000", country="BE"), True),
        (lead_ref, supporter("elena", postal_code="1050", country="BE"), True),
        (lead_ref, supporter("hidden", postal_code="2000", country="BE"), False),
        (member_ref, supporter("łukasz", postal_code="1011 AB", country="NL"), True),
        (member_ref, supporter("private", country="PT"), False),
    ]
    named, unnamed = set(), set()
    for ref, person, consents in signers:
        agreed = await cw.consents(ref, "petition_delivery") if consents else {}
        signed = await cw.act(ref, person=person, consents=agreed)
        assert signed.status_code == 201, signed.text
        (named if consents else unnamed).add(f"{person['first_name']} {person['last_name']}")
    await cw.counted(campaign_id)
    return Petition(cw, lead, member, campaign_id, target, named, unnamed, [p for _, p, _ in signers])


async def deliver(petition: Petition, **body: Any) -> httpx.Response:
    return await petition.world.campaigns.post(
        f"/v1/campaigns/{petition.campaign_id}/petition-deliveries", json=body, headers=petition.lead.headers
    )


def signatories(table: list[list[str]]) -> set[str]:
    return {row[1] for row in table if row[0] == "signatory"}


async def test_the_documents_name_exactly_the_consenting_signatories_and_match_the_statistics(
    petition: Petition,
) -> None:
    cw = petition.world

    delivered = await deliver(petition, method="download", target_id=petition.target["id"])

    assert delivered.status_code == 201, delivered.text
    delivery = delivered.json()
    stats = await cw.stats(petition.campaign_id, petition.lead)
    assert delivery["total_signatures"] == stats["counts"]["signature"] == 5
    assert delivery["by_organization"] == {
        o["organization_id"]: o["counts"]["signature"] for o in stats["by_organization"]
    }
    assert sum(delivery["by_region"].values()) == 5
    assert delivery["by_region"] == {"BE 10*": 2, "BE 20*": 1, "NL 10*": 1, "PT": 1}
    assert (delivery["state"], delivery["named_signatories"]) == ("delivered", 3)

    pdf = await cw.get(
        f"/v1/campaigns/{petition.campaign_id}/petition-deliveries/{delivery['id']}/pdf", petition.lead
    )
    table = await cw.get(
        f"/v1/campaigns/{petition.campaign_id}/petition-deliveries/{delivery['id']}/csv", petition.lead
    )

    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert all(name in text for name in petition.named), text
    assert not any(name in text for name in petition.unnamed), text
    assert not any(p["email"] in text for p in petition.people)
    assert "Signatures: 5" in text
    rows = list(csv.reader(io.StringIO(table.content.decode())))
    assert signatories(rows) == petition.named
    assert ["total", "signatures", "5"] in rows
    assert sum(int(r[2]) for r in rows if r[0] == "region") == 5
    assert {r[1]: int(r[2]) for r in rows if r[0] == "organization"} == delivery["by_organization"]


async def test_the_delivery_is_on_both_topics_without_personal_data(petition: Petition) -> None:
    cw = petition.world
    delivered = await deliver(petition, method="download")
    assert delivered.status_code == 201, delivered.text

    records = await cw.published(
        petition.campaign_id, topics.CAMPAIGNS_CAMPAIGNS, topics.FEDERATION_CAMPAIGNS
    )

    mine = [r for r in records if r.data.get("delivery_id") == delivered.json()["id"]]
    assert sorted((r.topic, r.type) for r in mine) == [
        (topics.CAMPAIGNS_CAMPAIGNS, "campaigns.petition.delivered"),
        (topics.FEDERATION_CAMPAIGNS, "federation.petition.delivered"),
    ]
    for record in mine:
        assert record.data["total_signatures"] == 5
        assert record.data["method"] == "download"
        assert set(record.data) == {
            "campaign_id",
            "owner_organization_id",
            "coalition_id",
            "delivery_id",
            "target",
            "method",
            "total_signatures",
            "delivered_at",
        }
        assert set(record.data["target"]) == {"target_id", "target_version", "name", "office"}
        raw = record.raw.decode()
        for person in petition.people:
            assert person["email"] not in raw
            assert person["first_name"] not in raw


async def test_an_emailed_delivery_is_delivered_when_the_mail_is_sent(petition: Petition) -> None:
    cw = petition.world
    delivered = await deliver(
        petition, method="email", target_id=petition.target["id"], message="For your desk."
    )
    assert delivered.status_code == 201, delivered.text
    delivery = delivered.json()
    assert delivery["state"] == "queued"
    records = await cw.published(petition.campaign_id, topics.CAMPAIGNS_CAMPAIGNS)
    (order,) = [
        r.data
        for r in records
        if r.type == "campaigns.petition.delivery_requested" and r.data["delivery_id"] == delivery["id"]
    ]
    assert order["target"]["email"] == petition.target["email"]
    assert order["body"] == "For your desk."
    attached = {
        a["filename"].rsplit(".", 1)[1]: base64.b64decode(a["content_base64"]) for a in order["attachments"]
    }
    assert signatories(list(csv.reader(io.StringIO(attached["csv"].decode())))) == petition.named

    await report(
        cw.campaigns_app.state.settings.kafka_bootstrap_servers,
        notes.PetitionSent(
            campaign_id=uuid.UUID(petition.campaign_id),
            target_id=uuid.UUID(petition.target["id"]),
            delivery_id=uuid.UUID(delivery["id"]),
            sent_at=datetime.now(UTC),
        ),
    )

    async def recorded() -> bool:
        listed = await cw.get(
            f"/v1/campaigns/{petition.campaign_id}/petition-deliveries", petition.lead, limit=100
        )
        return any(d["id"] == delivery["id"] and d["state"] == "delivered" for d in listed.json()["items"])

    await eventually(recorded, within=60, message="the sent report to be applied")
    records = await cw.published(petition.campaign_id, topics.FEDERATION_CAMPAIGNS)
    assert [r.data["method"] for r in records if r.data.get("delivery_id") == delivery["id"]] == ["email"]


async def test_deliveries_are_refused_when_they_cannot_be_made(petition: Petition) -> None:
    cw = petition.world
    letters = await cw.launched(petition.lead, "letter")

    emailed_without_target = await deliver(petition, method="email")
    unknown_target = await deliver(petition, method="download", target_id=str(uuid.uuid4()))
    not_a_petition = await cw.campaigns.post(
        f"/v1/campaigns/{letters['id']}/petition-deliveries",
        json={"method": "download"},
        headers=petition.lead.headers,
    )
    by_a_member = await cw.campaigns.post(
        f"/v1/campaigns/{petition.campaign_id}/petition-deliveries",
        json={"method": "download"},
        headers=petition.member.headers,
    )
    members_download = await cw.get(
        f"/v1/campaigns/{petition.campaign_id}/petition-deliveries", petition.member
    )

    problem(emailed_without_target, 422)
    problem(unknown_target, 422)
    problem(not_a_petition, 409)
    problem(by_a_member, 403)
    problem(members_download, 403)
