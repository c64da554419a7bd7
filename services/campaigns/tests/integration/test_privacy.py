"""Privacy: consent per purpose and its withdrawal, erasure (by the supporter and by the organization),
moderated stories under the chosen name, the CSV export, and no personal data on the federation topic."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from campaigns_world import FUTURE, CampaignsWorld, Org, problem, supporter

from common.contracts import topics

ALL = ("contact_by_organization", "share_with_coalition", "publish_story")


def distinctive(tag: str) -> dict[str, Any]:
    """A supporter whose every personal field is unique enough to be searched for in raw bytes."""
    mark = uuid.uuid4().hex[:10]
    return {
        "email": f"{tag}-{mark}@privacy.example.net",
        "first_name": f"Zed{mark[:6]}",
        "last_name": f"Quill{mark[4:]}",
        "postal_code": f"Z{mark[:5].upper()}",
        "country": "BE",
    }


def supporter_id(token: str) -> uuid.UUID:
    return uuid.UUID(hex=token.partition(".")[0])


async def emails(cw: CampaignsWorld, campaign_id: str, org: Org) -> set[str]:
    response = await cw.get(f"/v1/campaigns/{campaign_id}/supporters", org, organization_id=org.id)
    assert response.status_code == 200, response.text
    return {s["email"] for s in response.json()["items"]}


async def csv_rows(cw: CampaignsWorld, campaign_id: str, org: Org) -> list[dict[str, str]]:
    response = await cw.get(f"/v1/campaigns/{campaign_id}/supporters.csv", org, organization_id=org.id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def story(
    cw: CampaignsWorld,
    ref: str,
    person: dict[str, Any],
    consents: tuple[str, ...],
    name_form: str,
    title: str | None = None,
) -> str:
    told = await cw.act(
        ref,
        "stories",
        person,
        await cw.consents(ref, *consents),
        title=title or f"Diagnosed at last ({name_form})",
        body="It took six years and four specialists.",
        name_form=name_form,
    )
    assert told.status_code == 201, told.text
    return str(told.json()["supporter_token"])


async def moderate(cw: CampaignsWorld, org: Org, campaign_id: str, story_id: str, decision: str) -> Any:
    return await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/stories/{story_id}/{decision}", headers=org.headers
    )


async def queue(cw: CampaignsWorld, org: Org, campaign_id: str, status: str = "submitted") -> dict[str, str]:
    """Story title -> id, of the stories in `status`."""
    response = await cw.get(f"/v1/campaigns/{campaign_id}/stories", org, status=status)
    assert response.status_code == 200, response.text
    return {s["title"]: s["id"] for s in response.json()["items"]}


async def test_stories_are_moderated_and_published_only_with_consent_under_the_chosen_name(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("voices")
    campaign = await cw.launched(owner, "story_collection")
    camp = campaign["id"]
    ref = await cw.link_of(camp, owner)
    full = {**supporter("ada"), "first_name": "Ada", "last_name": "Lovelace"}
    first = {**supporter("grace"), "first_name": "Grace", "last_name": "Hopper"}
    anonymous = {**supporter("mary"), "first_name": "Mary", "last_name": "Somerville"}
    unconsented = {**supporter("emmy"), "first_name": "Emmy", "last_name": "Noether"}
    await story(cw, ref, full, ("publish_story",), "full")
    await story(cw, ref, first, ("publish_story",), "first_name")
    await story(cw, ref, anonymous, ("publish_story", "contact_by_organization"), "anonymous")
    await story(cw, ref, unconsented, ("contact_by_organization",), "full", "Unconsented")
    submitted = await queue(cw, owner, camp)
    assert len(submitted) == 4

    public = await cw.campaigns.get(f"/v1/public/campaigns/{camp}/stories")
    assert public.json()["items"] == []  # nothing before moderation
    problem(
        await moderate(cw, owner, camp, submitted["Diagnosed at last (first_name)"], "publish"), 409
    )  # not approved
    for story_id in submitted.values():
        approved = await moderate(cw, owner, camp, story_id, "approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
    refused = problem(await moderate(cw, owner, camp, submitted["Unconsented"], "publish"), 409)
    assert "publication" in refused["detail"]
    for title, story_id in submitted.items():
        if title == "Unconsented":
            continue
        published = await moderate(cw, owner, camp, story_id, "publish")
        assert published.status_code == 200, published.text
    rejected = await moderate(cw, owner, camp, submitted["Unconsented"], "reject")
    assert rejected.json()["status"] == "rejected"
    problem(await moderate(cw, owner, camp, submitted["Unconsented"], "publish"), 409)

    public = await cw.campaigns.get(f"/v1/public/campaigns/{camp}/stories")
    assert public.status_code == 200
    shown = {s["title"]: s["display_name"] for s in public.json()["items"]}
    assert shown == {
        "Diagnosed at last (full)": "Ada Lovelace",
        "Diagnosed at last (first_name)": "Grace",
        "Diagnosed at last (anonymous)": "Anonymous",
    }
    for person in (full, first, anonymous, unconsented):
        assert person["email"] not in public.text
    for hidden in ("Hopper", "Mary", "Somerville", "Emmy", "Noether", "@"):
        assert hidden not in public.text
    records = await cw.published(camp, topics.CAMPAIGNS_CAMPAIGNS)
    assert sum(r.type == "campaigns.story.published" for r in records) == 3


async def test_withdrawing_consent_removes_contacts_exports_and_stories(cw: CampaignsWorld) -> None:
    owner = await cw.org("listener")
    campaign = await cw.launched(owner, "story_collection")
    camp = campaign["id"]
    ref = await cw.link_of(camp, owner)
    ana, ben, cy = supporter("ana"), supporter("ben"), supporter("cy")
    ana_token = await story(cw, ref, ana, ("contact_by_organization", "publish_story"), "full")
    await story(cw, ref, ben, ("contact_by_organization",), "first_name")
    await story(cw, ref, cy, (), "anonymous")
    ana_story = (await queue(cw, owner, camp))["Diagnosed at last (full)"]
    for decision in ("approve", "publish"):
        assert (await moderate(cw, owner, camp, ana_story, decision)).status_code == 200
    assert await emails(cw, camp, owner) == {ana["email"], ben["email"]}  # cy gave no consent
    assert {r["email"] for r in await csv_rows(cw, camp, owner)} == {ana["email"], ben["email"]}
    public = await cw.campaigns.get(f"/v1/public/campaigns/{camp}/stories")
    assert [s["display_name"] for s in public.json()["items"]] == ["Ana Doe"]

    mine = await cw.token_post("", ana_token)
    assert mine.status_code == 200
    assert {c["purpose"] for c in mine.json()["consents"]} == {"contact_by_organization", "publish_story"}
    withdrawn = await cw.token_post(
        "/consent-withdrawals", ana_token, purposes=["contact_by_organization", "publish_story"]
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["consents"] == []
    assert await emails(cw, camp, owner) == {ben["email"]}
    assert [r["email"] for r in await csv_rows(cw, camp, owner)] == [ben["email"]]
    public = await cw.campaigns.get(f"/v1/public/campaigns/{camp}/stories")
    assert public.json()["items"] == []
    assert (await queue(cw, owner, camp, "withdrawn")) == {"Diagnosed at last (full)": ana_story}
    problem(await moderate(cw, owner, camp, ana_story, "publish"), 409)
    assert (await cw.stats(camp, owner))["counts"] == {"story": 3}  # the action still counts

    records = await cw.published(camp, topics.CAMPAIGNS_ACTIONS)
    recorded = {r.data["supporter_id"]: r.data for r in records if r.type == "campaigns.action.recorded"}
    contacts = {d["contact"]["email"] if d["contact"] else None for d in recorded.values()}
    assert contacts == {ana["email"], ben["email"], None}
    assert all(d["contact_shared_with_coalition"] is False for d in recorded.values())
    withdrawals = [r.data for r in records if r.type == "campaigns.consent.withdrawn"]
    assert [(w["supporter_id"], sorted(w["purposes"])) for w in withdrawals] == [
        (str(supporter_id(ana_token)), ["contact_by_organization", "publish_story"])
    ]


async def test_erasure_by_the_supporter_removes_personal_data_and_keeps_the_totals(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("eraser")
    campaign = await cw.launched(owner, "letter")
    camp = campaign["id"]
    ref = await cw.link_of(camp, owner)
    person = distinctive("erase-me")
    sent = await cw.act(
        ref,
        "letters",
        person,
        await cw.consents(ref, "contact_by_organization"),
        key=f"letter-{uuid.uuid4().hex}",
        body=f"I am {person['first_name']} from {person['postal_code']}.",
    )
    assert sent.status_code == 201, sent.text
    token = sent.json()["supporter_token"]
    assert (await cw.act(ref, "letters")).status_code == 201
    await cw.relayed(camp)  # the contact went out on the internal topic with consent
    db = cw.service.repo.db
    sid = supporter_id(token)
    assert await db["idempotency"].count_documents({"supporter_id": sid}) == 1

    assert (await cw.token_post("/erasure", token)).status_code == 204
    assert await db["idempotency"].count_documents({"supporter_id": sid}) == 0  # it named the supporter
    stored = await db["supporters"].find_one({"_id": sid})
    assert stored is not None
    assert stored["erased_at"] is not None
    assert stored["email_key"] is None
    assert stored["consents"] == {}
    for personal in ("email", "first_name", "last_name", "postal_code", "country"):
        assert personal not in stored, personal
    action = await db["actions"].find_one({"supporter_id": sid})
    assert action["details"] == {}
    for collection in ("supporters", "actions", "stories", "idempotency", "outbox"):
        async for doc in db[collection].find({}):
            text = repr(doc)
            for value in person.values():
                if value != "BE":
                    assert value not in text, (collection, value)
    stats = await cw.stats(camp, owner)
    assert stats["counts"] == {"letter": 2}
    assert stats["unique_supporters"] == 2
    assert person["email"] not in await emails(cw, camp, owner)

    for path, extra in (
        ("", {}),
        ("/erasure", {}),
        ("/consent-withdrawals", {"purposes": ["contact_by_organization"]}),
    ):
        problem(await cw.token_post(path, token, **extra), 410)

    records = await cw.published(camp, topics.CAMPAIGNS_ACTIONS)
    erased = [r for r in records if r.type == "campaigns.supporter.erased"]
    assert len(erased) == 1
    assert erased[0].data["supporter_id"] == str(sid)
    assert erased[0].data["requested_by"] == "supporter"
    assert erased[0].data["organization_id"] == owner.id
    for value in person.values():
        if value != "BE":
            assert value.encode() not in erased[0].raw


async def test_erasure_by_the_organization_is_for_its_admins_only(cw: CampaignsWorld) -> None:
    owner, stranger = await cw.org("holder"), await cw.org("stranger")
    campaign = await cw.launched(owner, "petition")
    camp = campaign["id"]
    ref = await cw.link_of(camp, owner)
    person = distinctive("org-erase")
    signed = await cw.act(ref, person=person, consents=await cw.consents(ref, "contact_by_organization"))
    token = signed.json()["supporter_token"]
    sid = supporter_id(token)
    path = f"/v1/organizations/{owner.id}/supporters/{sid}"
    organizer = await cw.identity.add_member(owner.id, owner.admin, role="organizer")
    assert (await cw.campaigns.delete(path, headers=organizer.headers)).status_code == 403
    assert (await cw.campaigns.delete(path, headers=stranger.headers)).status_code == 403
    problem(
        await cw.campaigns.delete(
            f"/v1/organizations/{stranger.id}/supporters/{sid}", headers=stranger.headers
        ),
        404,
    )
    assert (await cw.token_post("", token)).status_code == 200  # untouched so far

    assert (await cw.campaigns.delete(path, headers=owner.headers)).status_code == 204
    stored = await cw.service.repo.db["supporters"].find_one({"_id": sid})
    assert "email" not in stored
    assert "first_name" not in stored
    assert stored["erased_at"] is not None
    problem(await cw.token_post("", token), 410)
    assert (await cw.stats(camp, owner))["counts"] == {"signature": 1}
    assert await emails(cw, camp, owner) == set()
    again = await cw.act(ref, person=person)  # the address is no longer known: a new supporter
    assert again.status_code == 201
    records = await cw.published(camp, topics.CAMPAIGNS_ACTIONS)
    erased = [r.data for r in records if r.type == "campaigns.supporter.erased"]
    assert [(e["supporter_id"], e["requested_by"]) for e in erased] == [(str(sid), "organization")]


async def test_the_csv_export_has_only_the_organizations_own_consented_supporters_and_no_formulas(
    cw: CampaignsWorld,
) -> None:
    lead, member = await cw.org("exporter"), await cw.org("partner")
    coalition = await cw.shared_coalition(lead, member, sharing="contacts_with_consent")
    campaign = await cw.launched(lead, "petition", coalition["id"])
    camp = campaign["id"]
    lead_ref, member_ref = await cw.link_of(camp, lead), await cw.adopt(camp, member)
    both = ("contact_by_organization", "share_with_coalition")
    formula = supporter("calc", first_name="=1+2", last_name="+SUM(A1)")
    plain = supporter("plain")
    silent = supporter("silent")
    shared = supporter("shared")
    for ref, person, purposes in (
        (lead_ref, formula, both),
        (lead_ref, plain, ("contact_by_organization",)),
        (lead_ref, silent, ()),
        (member_ref, shared, both),
    ):
        acted = await cw.act(ref, person=person, consents=await cw.consents(ref, *purposes))
        assert acted.status_code == 201, acted.text
    # The JSON list shows the partner's consenting supporter; the export holds only the lead's own.
    assert await emails(cw, camp, lead) == {formula["email"], plain["email"], shared["email"]}
    rows = await csv_rows(cw, camp, lead)
    assert {r["email"] for r in rows} == {formula["email"], plain["email"]}
    calc = next(r for r in rows if r["email"] == formula["email"])
    assert calc["first_name"] == "'=1+2"
    assert calc["last_name"] == "'+SUM(A1)"
    assert calc["consents"] == "contact_by_organization share_with_coalition"
    assert [r["email"] for r in await csv_rows(cw, camp, member)] == [shared["email"]]


async def test_no_personal_data_reaches_the_federation_topic(cw: CampaignsWorld) -> None:
    lead, member = await cw.org("fed-lead"), await cw.org("fed-member")
    coalition = await cw.shared_coalition(lead, member, sharing="contacts_with_consent")
    goal = {"metric": "actions", "action_kind": "story", "target": 4, "deadline": FUTURE.isoformat()}
    campaign = await cw.launched(lead, "story_collection", coalition["id"], goal=goal)
    camp = campaign["id"]
    refs = [await cw.link_of(camp, lead), await cw.adopt(camp, member)]
    people = [distinctive(f"fed{i}") for i in range(4)]
    tokens = []
    for i, person in enumerate(people):
        tokens.append(await story(cw, refs[i % 2], person, ALL, "full", f"Story {i}"))
    for story_id in (await queue(cw, lead, camp)).values():
        for decision in ("approve", "publish"):
            assert (await moderate(cw, lead, camp, story_id, decision)).status_code == 200
    assert (
        await cw.token_post("/consent-withdrawals", tokens[0], purposes=["publish_story"])
    ).status_code == 200
    assert (await cw.token_post("/erasure", tokens[1])).status_code == 204
    assert (await cw.moved(camp, lead, "close"))["status"] == "closed"

    records = await cw.published(
        camp, topics.FEDERATION_CAMPAIGNS, topics.CAMPAIGNS_CAMPAIGNS, topics.CAMPAIGNS_ACTIONS
    )
    federation = [r for r in records if r.topic == topics.FEDERATION_CAMPAIGNS]
    assert {r.type for r in federation} == {
        "federation.campaign.changed",
        "federation.campaign.progressed",
        "federation.campaign.milestone_reached",
        "federation.campaign.disclosures_changed",  # organizations' funding and conflicts, never supporters
    }
    forbidden = [p[k] for p in people for k in ("email", "first_name", "last_name", "postal_code")]
    forbidden += [p["email"].split("@")[0] for p in people]
    forbidden += [str(supporter_id(t)) for t in tokens] + [supporter_id(t).hex for t in tokens]
    for record in federation + [r for r in records if r.topic == topics.CAMPAIGNS_CAMPAIGNS]:
        raw = record.raw.decode()
        for value in forbidden:
            assert value not in raw, (record.type, value)
        assert "@privacy.example.net" not in raw

    # Internally, the contact travels only with the consent to be contacted by that organization.
    recorded = [r.data for r in records if r.type == "campaigns.action.recorded"]
    assert len(recorded) == 4
    for data in recorded:
        assert data["contact"] is not None
        assert data["contact_shared_with_coalition"] is True
