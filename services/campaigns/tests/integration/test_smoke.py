"""A first pass through the campaigns service: a petition and a coalition campaign with two organizations."""

from __future__ import annotations

from campaigns_world import CampaignsWorld


async def test_petition_signed_through_the_owners_link(cw: CampaignsWorld) -> None:
    owner = await cw.org("owner")
    campaign = await cw.launched(owner)
    ref = await cw.link_of(campaign["id"], owner)
    versions = await cw.versions(ref)
    signed = await cw.act(ref, consents={"contact_by_organization": versions["contact_by_organization"]})
    assert signed.status_code == 201, signed.text
    assert signed.json()["supporter_token"]
    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {"signature": 1}


async def test_coalition_campaign_adopted_by_a_member(cw: CampaignsWorld) -> None:
    lead, member = await cw.org("lead"), await cw.org("member")
    coalition = await cw.shared_coalition(lead, member, sharing="contacts_with_consent")
    campaign = await cw.launched(lead, "petition", coalition["id"])
    ref = await cw.adopt(campaign["id"], member)
    signed = await cw.act(ref)
    assert signed.status_code == 201, signed.text
    stats = await cw.stats(campaign["id"], member)
    assert stats["by_organization"] == [
        {"organization_id": member.id, "counts": {"signature": 1}, "unique_supporters": 1}
    ]
