"""Each kind of campaign end to end through the API, the lifecycle and its refusals, schedules and goals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from campaigns_world import DETAILS, FUTURE, CampaignsWorld, problem, supporter

from common.contracts import topics
from eventually import eventually


async def test_a_petition_takes_signatures_and_refuses_other_kinds(cw: CampaignsWorld) -> None:
    owner = await cw.org("petitioner")
    campaign = await cw.launched(owner, "petition")
    ref = await cw.link_of(campaign["id"], owner)
    assert (await cw.public(ref))["accepts"] == ["signature"]
    for _ in range(2):
        assert (await cw.act(ref, "signatures")).status_code == 201
    for path, body in (("letters", {}), ("rsvps", {}), ("shares", {"platform": "x"})):
        refused = problem(await cw.act(ref, path, **body), 409)
        assert refused["accepted"] == ["signature"]
    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {"signature": 2}
    assert stats["goal"]["value"] == 2
    assert stats["goal"]["percent"] == 2.0


async def test_letters_are_personalised_only_when_the_campaign_allows_it(cw: CampaignsWorld) -> None:
    owner = await cw.org("writer")
    open_letter = await cw.launched(owner, "letter")
    ref = await cw.link_of(open_letter["id"], owner)
    sent = await cw.act(ref, "letters", subject="My own subject", body="My own words about my diagnosis.")
    assert sent.status_code == 201, sent.text
    assert (await cw.act(ref, "letters")).status_code == 201
    assert (await cw.stats(open_letter["id"], owner))["counts"] == {"letter": 2}
    stored = await cw.service.repo.db["actions"].find_one({"_id": uuid.UUID(sent.json()["action"]["id"])})
    assert stored["details"] == {"subject": "My own subject", "body": "My own words about my diagnosis."}

    fixed = await cw.launched(owner, "letter", details={**DETAILS["letter"], "allow_personalisation": False})
    fixed_ref = await cw.link_of(fixed["id"], owner)
    problem(await cw.act(fixed_ref, "letters", body="Something else entirely."), 422)
    problem(await cw.act(fixed_ref, "letters", subject="A subject of my own"), 422)
    assert (await cw.act(fixed_ref, "letters")).status_code == 201
    assert (await cw.stats(fixed["id"], owner))["counts"] == {"letter": 1}
    problem(await cw.act(fixed_ref, "signatures"), 409)


async def test_an_event_takes_rsvps_up_to_its_capacity_and_check_ins(cw: CampaignsWorld) -> None:
    owner = await cw.org("host")
    campaign = await cw.launched(owner, "event", details={**DETAILS["event"], "capacity": 2})
    ref = await cw.link_of(campaign["id"], owner)
    first, second, third = supporter("ana"), supporter("ben"), supporter("cy")
    assert (await cw.act(ref, "rsvps", first)).status_code == 201
    assert (await cw.act(ref, "rsvps", second)).status_code == 201
    full = problem(await cw.act(ref, "rsvps", third), 409)
    assert full["capacity"] == 2
    again = await cw.act(ref, "rsvps", first)  # already counted: not refused for being full
    assert again.status_code == 200
    assert again.json()["already_recorded"] is True
    assert (await cw.act(ref, "checkins", first)).status_code == 201
    problem(await cw.act(ref, "signatures", third), 409)
    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {"rsvp": 2, "checkin": 1}
    assert stats["unique_supporters"] == 2  # the third was refused and is not stored
    assert (
        await cw.service.repo.db["supporters"].count_documents({"campaign_id": uuid.UUID(campaign["id"])})
        == 2
    )


async def test_a_story_collection_takes_stories_and_a_share_campaign_takes_shares(cw: CampaignsWorld) -> None:
    owner = await cw.org("teller")
    stories = await cw.launched(owner, "story_collection")
    ref = await cw.link_of(stories["id"], owner)
    told = await cw.act(
        ref, "stories", title="Five years to a name", body="It took five years.", name_form="first_name"
    )
    assert told.status_code == 201, told.text
    problem(await cw.act(ref, "shares", platform="x"), 409)
    assert (await cw.stats(stories["id"], owner))["counts"] == {"story": 1}

    shares = await cw.launched(owner, "share")
    share_ref = await cw.link_of(shares["id"], owner)
    for platform in ("bluesky", "mastodon"):
        assert (await cw.act(share_ref, "shares", platform=platform)).status_code == 201
    problem(
        await cw.act(share_ref, "stories", title="t", body="b", name_form="anonymous"),
        409,
    )
    assert (await cw.stats(shares["id"], owner))["counts"] == {"share": 2}


async def test_the_lifecycle_and_every_refusal(cw: CampaignsWorld) -> None:
    owner = await cw.org("steward")
    campaign = await cw.campaign(owner, "petition")
    cid = campaign["id"]
    assert campaign["status"] == "draft"
    ref = await cw.link_of(cid, owner)

    draft = problem(await cw.act(ref), 409)
    assert draft["status"] == 409
    assert "not started" in draft["detail"]
    for transition in ("pause", "resume", "close"):
        refused = problem(await cw.move(cid, owner, transition), 409)
        assert "draft" in refused["detail"], refused

    assert (await cw.moved(cid, owner, "launch"))["status"] == "active"
    for transition in ("launch", "resume", "archive"):
        problem(await cw.move(cid, owner, transition), 409)
    assert (await cw.act(ref)).status_code == 201

    assert (await cw.moved(cid, owner, "pause"))["status"] == "paused"
    paused = problem(await cw.act(ref), 409)
    assert "paused" in paused["detail"]
    assert (await cw.public(ref))["accepts"] == []
    for transition in ("launch", "pause", "archive"):
        problem(await cw.move(cid, owner, transition), 409)
    edited = await cw.campaigns.patch(
        f"/v1/campaigns/{cid}", json={"title": "Paused, renamed"}, headers=owner.headers
    )
    assert edited.status_code == 200
    assert edited.json()["title"] == "Paused, renamed"

    assert (await cw.moved(cid, owner, "resume"))["status"] == "active"
    assert (await cw.act(ref)).status_code == 201
    assert (await cw.moved(cid, owner, "close"))["status"] == "closed"
    closed = problem(await cw.act(ref), 409)
    assert "closed" in closed["detail"]
    for transition in ("launch", "pause", "resume", "close"):
        problem(await cw.move(cid, owner, transition), 409)
    problem(
        await cw.campaigns.patch(f"/v1/campaigns/{cid}", json={"title": "Too late"}, headers=owner.headers),
        409,
    )

    assert (await cw.moved(cid, owner, "archive"))["status"] == "archived"
    for transition in ("launch", "pause", "resume", "close", "archive"):
        problem(await cw.move(cid, owner, transition), 409)
    problem(
        await cw.campaigns.patch(f"/v1/campaigns/{cid}", json={"title": "Later"}, headers=owner.headers), 409
    )
    assert (await cw.stats(cid, owner))["counts"] == {"signature": 2}

    # A draft can be archived straight away; a plain member of the organization manages nothing.
    other = await cw.campaign(owner, "share")
    member = await cw.identity.add_member(owner.id, owner.admin, role="member")
    assert (
        await cw.campaigns.post(f"/v1/campaigns/{other['id']}/launch", headers=member.headers)
    ).status_code == 403
    assert (await cw.moved(other["id"], owner, "archive"))["status"] == "archived"


async def test_scheduled_launch_and_close_take_effect_on_their_own(cw: CampaignsWorld) -> None:
    owner = await cw.org("scheduler")
    now = datetime.now(UTC)
    campaign = await cw.campaign(
        owner,
        "petition",
        launch_at=(now + timedelta(seconds=2)).isoformat(),
        close_at=(now + timedelta(seconds=5)).isoformat(),
    )
    cid = uuid.UUID(campaign["id"])
    assert campaign["status"] == "draft"

    async def status_is(expected: str) -> bool:
        stored = await cw.service.repo.get_campaign(cid)  # read directly: no request applies the schedule
        return stored is not None and stored.status.value == expected

    await eventually(lambda: status_is("active"), within=30, message="the scheduled launch")
    await eventually(lambda: status_is("closed"), within=30, message="the scheduled close")
    records = await cw.published(campaign["id"], topics.CAMPAIGNS_CAMPAIGNS)
    moves = [(r.type, r.data["scheduled"]) for r in records if r.type != "campaigns.campaign.created"]
    assert moves == [("campaigns.campaign.launched", True), ("campaigns.campaign.closed", True)]
    ref = await cw.link_of(campaign["id"], owner)
    problem(await cw.act(ref), 409)


async def test_goal_milestones_are_reached_once_each(cw: CampaignsWorld) -> None:
    owner = await cw.org("goalie")
    campaign = await cw.launched(owner, "petition", goal=goal_of("signature", 4))
    ref = await cw.link_of(campaign["id"], owner)
    people = [supporter(f"m{i}") for i in range(6)]
    for person in people:
        assert (await cw.act(ref, person=person)).status_code == 201
    assert (await cw.act(ref, person=people[0])).status_code == 200
    stats = await cw.stats(campaign["id"], owner)
    assert [m["milestone"] for m in stats["milestones"]] == [25, 50, 75, 100]
    values = [m["value"] for m in stats["milestones"]]  # the value of the batch that crossed each
    assert values == sorted(values)
    assert all(v >= 4 * m // 100 for v, m in zip(values, (25, 50, 75, 100), strict=True))
    assert stats["goal"]["value"] == 6
    assert stats["goal"]["percent"] == 150.0
    records = await cw.published(campaign["id"], topics.CAMPAIGNS_CAMPAIGNS)
    reached = [r.data["milestone"] for r in records if r.type == "campaigns.goal.milestone_reached"]
    assert reached == [25, 50, 75, 100]


def goal_of(kind: str | None, target: int, metric: str = "actions") -> dict[str, Any]:
    return {"metric": metric, "action_kind": kind, "target": target, "deadline": FUTURE.isoformat()}


async def test_unique_supporter_and_attendance_goals(cw: CampaignsWorld) -> None:
    owner = await cw.org("counter")
    unique = await cw.launched(owner, "event", goal=goal_of(None, 2, "unique_supporters"))
    ref = await cw.link_of(unique["id"], owner)
    ana, ben = supporter("ana"), supporter("ben")
    await cw.act(ref, "rsvps", ana)
    await cw.act(ref, "checkins", ana)  # the same person again: still one supporter
    stats = await cw.stats(unique["id"], owner)
    assert stats["goal"]["value"] == 1
    assert [m["milestone"] for m in stats["milestones"]] == [25, 50]
    await cw.act(ref, "rsvps", ben)
    stats = await cw.stats(unique["id"], owner)
    assert stats["unique_supporters"] == 2
    assert stats["goal"]["percent"] == 100.0
    assert [m["milestone"] for m in stats["milestones"]] == [25, 50, 75, 100]

    attendance = await cw.launched(owner, "event", goal=goal_of(None, 2, "attendance"))
    ref = await cw.link_of(attendance["id"], owner)
    for person in (ana, ben):
        assert (await cw.act(ref, "rsvps", person)).status_code == 201
    stats = await cw.stats(attendance["id"], owner)
    assert stats["goal"]["value"] == 0
    assert stats["milestones"] == []
    assert (await cw.act(ref, "checkins", ana)).status_code == 201
    stats = await cw.stats(attendance["id"], owner)
    assert stats["goal"]["value"] == 1
    assert [m["milestone"] for m in stats["milestones"]] == [25, 50]
    assert (await cw.act(ref, "checkins", ben)).status_code == 201
    stats = await cw.stats(attendance["id"], owner)
    assert stats["goal"] | {"deadline": None} == {
        "metric": "attendance",
        "action_kind": None,
        "target": 2,
        "deadline": None,
        "value": 2,
        "percent": 100.0,
    }
    assert [m["milestone"] for m in stats["milestones"]] == [25, 50, 75, 100]
    # An attendance goal belongs to events only.
    refused = await cw.campaigns.post(
        "/v1/campaigns",
        json={
            "organization_id": owner.id,
            "kind": "petition",
            "title": "Attend a petition",
            "summary": "Not a thing.",
            "details": DETAILS["petition"],
            "goal": goal_of(None, 2, "attendance"),
        },
        headers=owner.headers,
    )
    problem(refused, 422)
