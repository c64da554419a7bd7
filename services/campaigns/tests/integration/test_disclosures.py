"""Funding disclosures and conflicts of interest: identity's declarations (produced here on identity's
topic, as identity publishes them) shown on a campaign's public link and federation topic for the owner
and the link's organization; adoption refused while a coalition requires a current declaration."""

from __future__ import annotations

from datetime import timedelta

from advocacy_world import NOW, declare_funding, require_disclosure
from campaigns_world import CampaignsWorld, problem, supporter

from common.contracts import topics


async def test_the_owners_disclosures_are_on_the_public_link_and_the_federation_topic(
    cw: CampaignsWorld,
) -> None:
    org = await cw.org("discloser")
    campaign = await cw.launched(org)
    campaign_id = str(campaign["id"])
    ref = await cw.link_of(campaign_id, org)
    person = supporter("signer")
    signed = await cw.act(ref, person=person)
    assert signed.status_code == 201, signed.text

    await declare_funding(cw, org, declared_at=NOW - timedelta(days=10), funder="Helix Pharma")
    stated = await cw.campaigns.put(
        f"/v1/campaigns/{campaign_id}/conflicts-of-interest",
        json={"organization_id": org.id, "statement": "Helix Pharma sells a screening test."},
        headers=org.headers,
    )
    public = await cw.public(ref)
    private = await cw.get(f"/v1/campaigns/{campaign_id}/disclosures", org)

    assert stated.status_code == 200, stated.text
    (shown,) = public["disclosures"]
    assert shown["organization_id"] == org.id
    assert shown["role"] == "owner"
    assert shown["current"] is True
    assert [f["name"] for f in shown["funders"]] == ["Helix Pharma"]
    assert shown["conflicts_of_interest"] == "Helix Pharma sells a screening test."
    assert private.status_code == 200, private.text
    assert private.json()["organizations"] == public["disclosures"]
    records = await cw.published(campaign_id, topics.FEDERATION_CAMPAIGNS)
    disclosed = [r for r in records if r.type == "federation.campaign.disclosures_changed"]
    assert (
        disclosed[-1].data["organizations"][0]["conflicts_of_interest"]
        == "Helix Pharma sells a screening test."
    )
    assert "Helix Pharma" in disclosed[-1].raw.decode()
    for record in records:
        for value in (person["email"], person["first_name"]):
            assert value not in record.raw.decode()


async def test_a_coalition_requiring_a_current_disclosure_refuses_adoption_without_one(
    cw: CampaignsWorld,
) -> None:
    lead, member = await cw.org("strict-lead"), await cw.org("strict-member")
    coalition = await cw.shared_coalition(lead, member)
    campaign_id = str((await cw.launched(lead, "petition", coalition["id"]))["id"])
    await require_disclosure(cw, coalition)
    adopt = f"/v1/campaigns/{campaign_id}/adoptions"

    none_yet = await cw.campaigns.post(adopt, json={"organization_id": member.id}, headers=member.headers)
    await declare_funding(cw, member, declared_at=NOW - timedelta(days=400), funder="Old Foundation")
    stale = await cw.campaigns.post(adopt, json={"organization_id": member.id}, headers=member.headers)
    await declare_funding(cw, member, declared_at=NOW - timedelta(days=3), funder="New Foundation")
    adopted = await cw.campaigns.post(adopt, json={"organization_id": member.id}, headers=member.headers)

    for refused in (none_yet, stale):
        body = problem(refused, 409)
        assert body["type"].endswith("/disclosure-required"), body
        assert body["organization_id"] == member.id
    assert problem(stale, 409)["declared_at"] is not None
    assert adopted.status_code == 201, adopted.text
    page = await cw.public(adopted.json()["ref"])
    assert [(d["organization_id"], d["role"], d["current"]) for d in page["disclosures"]] == [
        (lead.id, "owner", False),
        (member.id, "adopter", True),
    ]
    assert [f["name"] for f in page["disclosures"][1]["funders"]] == ["New Foundation"]


async def test_a_coalition_without_the_requirement_lets_members_adopt(cw: CampaignsWorld) -> None:
    lead, member = await cw.org("easy-lead"), await cw.org("easy-member")
    coalition = await cw.shared_coalition(lead, member)
    campaign_id = str((await cw.launched(lead, "petition", coalition["id"]))["id"])

    adopted = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/adoptions", json={"organization_id": member.id}, headers=member.headers
    )

    assert adopted.status_code == 201, adopted.text


async def test_conflicts_of_interest_are_stated_by_a_taking_part_organizations_organizers(
    cw: CampaignsWorld,
) -> None:
    org, outsider = await cw.org("coi-owner"), await cw.org("coi-outsider")
    campaign_id = str((await cw.launched(org))["id"])
    plain = await cw.identity.add_member(org.id, org.admin, role="member")
    url = f"/v1/campaigns/{campaign_id}/conflicts-of-interest"

    by_member = await cw.campaigns.put(
        url, json={"organization_id": org.id, "statement": "None."}, headers=plain.headers
    )
    by_outsider = await cw.campaigns.put(
        url, json={"organization_id": outsider.id, "statement": "None."}, headers=outsider.headers
    )
    for body in (
        {"organization_id": org.id, "statement": ""},
        {"organization_id": org.id, "statement": "x" * 5001},
        {"organization_id": org.id, "statement": "bad\u202estatement"},
        {"organization_id": "not-a-uuid", "statement": "None."},
        {"statement": "None."},
    ):
        problem(await cw.campaigns.put(url, json=body, headers=org.headers), 422)

    problem(by_member, 403)
    body = problem(by_outsider, 404)
    assert campaign_id not in body["detail"]
