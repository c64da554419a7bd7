"""Federation: coalition members adopt a campaign and run it with their own supporters; everyone in the
coalition sees the collective totals and each organization's contribution; contacts follow the sharing
agreements and the supporters' consents; suspended and departed members."""

from __future__ import annotations

from typing import Any

from campaigns_world import CampaignsWorld, Org, problem, supporter

from common.contracts import topics


def contribution(stats: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {c["organization_id"]: c["counts"] for c in stats["by_organization"]}


async def contacts(cw: CampaignsWorld, campaign_id: str, org: Org) -> dict[str, bool]:
    """E-mail -> shared_by_coalition, of the supporters `org` may contact."""
    response = await cw.get(f"/v1/campaigns/{campaign_id}/supporters", org, organization_id=org.id)
    assert response.status_code == 200, response.text
    return {s["email"]: s["shared_by_coalition"] for s in response.json()["items"]}


async def test_members_adopt_and_everyone_sees_the_collective_and_each_contribution(
    cw: CampaignsWorld,
) -> None:
    lead, shares, keeps, watcher = (
        await cw.org("lead"),
        await cw.org("sharer"),
        await cw.org("keeper"),
        await cw.org("watcher"),
    )
    coalition = await cw.coalition(lead)
    cid = coalition["id"]
    await cw.member(cid, lead, shares)
    await cw.member(cid, lead, keeps)
    await cw.member(cid, lead, watcher, role="observer")
    await cw.set_sharing(cid, lead, lead, "contacts_with_consent")
    await cw.set_sharing(cid, lead, shares, "contacts_with_consent")
    await cw.set_sharing(cid, lead, keeps, "aggregate_only")
    for org in (lead, shares, keeps, watcher):
        await cw.projected(cid, org.id)

    campaign = await cw.launched(lead, "petition", cid)
    camp = campaign["id"]
    refs = {lead.id: await cw.link_of(camp, lead)}
    refs[shares.id] = await cw.adopt(camp, shares)
    refs[keeps.id] = await cw.adopt(camp, keeps)
    assert len(set(refs.values())) == 3
    observer = problem(
        await cw.campaigns.post(
            f"/v1/campaigns/{camp}/adoptions", json={"organization_id": watcher.id}, headers=watcher.headers
        ),
        403,
    )
    assert "observer" in observer["detail"]
    again = await cw.campaigns.post(
        f"/v1/campaigns/{camp}/adoptions", json={"organization_id": shares.id}, headers=shares.headers
    )
    assert again.status_code == 200
    assert again.json()["ref"] == refs[shares.id]

    both = ("contact_by_organization", "share_with_coalition")
    people = {
        "s1": (shares, supporter("s1"), both),
        "s2": (shares, supporter("s2"), ("contact_by_organization",)),
        "s3": (keeps, supporter("s3"), both),
        "s4": (lead, supporter("s4"), both),
        "s5": (shares, supporter("s5"), ()),
    }
    for org, person, purposes in people.values():
        ref = refs[org.id]
        acted = await cw.act(ref, person=person, consents=await cw.consents(ref, *purposes))
        assert acted.status_code == 201, acted.text
        assert acted.json()["action"]["organization_id"] == org.id
    email = {name: p[1]["email"] for name, p in people.items()}

    expected = {lead.id: {"signature": 1}, shares.id: {"signature": 3}, keeps.id: {"signature": 1}}
    for viewer in (lead, shares, keeps, watcher):
        stats = await cw.stats(camp, viewer)
        assert stats["counts"] == {"signature": 5}
        assert stats["unique_supporters"] == 5
        assert contribution(stats) == expected
    public = await cw.public(refs[keeps.id])
    assert public["counts"] == {"signature": 5}
    assert public["organization_id"] == keeps.id

    # Contacts: one's own consented supporters, plus those of `contacts_with_consent` members who agreed
    # to share with the coalition; never those of an `aggregate_only` member; nothing shared to observers.
    assert await contacts(cw, camp, lead) == {email["s4"]: False, email["s1"]: True}
    assert await contacts(cw, camp, shares) == {email["s1"]: False, email["s2"]: False, email["s4"]: True}
    assert await contacts(cw, camp, keeps) == {email["s3"]: False, email["s1"]: True, email["s4"]: True}
    assert await contacts(cw, camp, watcher) == {}
    # The keeper now shares too: its consenting supporter becomes visible to the others.
    await cw.set_sharing(cid, lead, keeps, "contacts_with_consent")
    assert await contacts(cw, camp, lead) == {email["s4"]: False, email["s1"]: True, email["s3"]: True}
    # ... and no longer once the sharer goes back to aggregates only.
    await cw.set_sharing(cid, lead, shares, "aggregate_only")
    assert await contacts(cw, camp, keeps) == {email["s3"]: False, email["s4"]: True}
    # An organization reads only its own list.
    assert (
        await cw.get(f"/v1/campaigns/{camp}/supporters", keeps, organization_id=lead.id)
    ).status_code == 403

    actions = await cw.published(camp, topics.CAMPAIGNS_ACTIONS)
    attributed = sorted(
        (r.data["organization_id"], r.data["contact_shared_with_coalition"])
        for r in actions
        if r.type == "campaigns.action.recorded"
    )
    assert attributed == sorted(
        [(shares.id, True), (shares.id, False), (shares.id, False), (keeps.id, False), (lead.id, True)]
    )


async def test_a_suspended_member_keeps_its_past_and_a_member_that_leaves_loses_its_adoption(
    cw: CampaignsWorld,
) -> None:
    lead, paused, leaving = await cw.org("lead"), await cw.org("paused"), await cw.org("leaving")
    coalition = await cw.shared_coalition(lead, paused, leaving)
    cid = coalition["id"]
    campaign = await cw.launched(lead, "petition", cid)
    camp = campaign["id"]
    paused_ref = await cw.adopt(camp, paused)
    leaving_ref = await cw.adopt(camp, leaving)
    for ref in (paused_ref, paused_ref, leaving_ref):
        assert (await cw.act(ref)).status_code == 201

    await cw.suspend(cid, lead, paused)
    refused = problem(await cw.act(paused_ref), 409)
    assert refused["organization_id"] == paused.id
    problem(
        await cw.campaigns.post(
            f"/v1/campaigns/{camp}/adoptions", json={"organization_id": paused.id}, headers=paused.headers
        ),
        409,
    )
    other = await cw.launched(lead, "share", cid)
    problem(
        await cw.campaigns.post(
            f"/v1/campaigns/{other['id']}/adoptions",
            json={"organization_id": paused.id},
            headers=paused.headers,
        ),
        409,
    )
    stats = await cw.stats(camp, lead)
    assert stats["counts"] == {"signature": 3}
    assert contribution(stats) == {paused.id: {"signature": 2}, leaving.id: {"signature": 1}}
    # The suspended member still follows the campaign it took part in.
    assert contribution(await cw.stats(camp, paused))[paused.id] == {"signature": 2}

    await cw.leave(cid, leaving)
    problem(await cw.act(leaving_ref), 409)
    links = await cw.get(f"/v1/campaigns/{camp}/links", lead)
    states = {link["organization_id"]: link["state"] for link in links.json()}
    assert states == {lead.id: "active", paused.id: "active", leaving.id: "withdrawn"}
    stats = await cw.stats(camp, lead)
    assert stats["counts"] == {"signature": 3}
    assert contribution(stats)[leaving.id] == {"signature": 1}
    assert (await cw.act(await cw.link_of(camp, lead))).status_code == 201

    records = await cw.published(camp, topics.CAMPAIGNS_CAMPAIGNS, topics.FEDERATION_CAMPAIGNS)
    withdrawn = [r.data for r in records if r.type == "campaigns.adoption.withdrawn"]
    assert [(w["organization_id"], w["reason"]) for w in withdrawn] == [(leaving.id, "left")]
    changed = [r.data for r in records if r.type == "federation.campaign.changed"]
    assert set(changed[-1]["participating_organization_ids"]) == {lead.id, paused.id}
    assert any(leaving.id in c["participating_organization_ids"] for c in changed)
