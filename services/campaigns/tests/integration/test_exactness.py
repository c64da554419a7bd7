"""Exact totals under concurrency: distinct supporters, repeats of the same people and idempotent retries
at once give the right counts and each milestone exactly once, in the service and on the real topics."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from campaigns_world import DETAILS, FUTURE, CampaignsWorld, supporter

from common.contracts import topics


def goal(kind: str, target: int) -> dict[str, Any]:
    return {"metric": "actions", "action_kind": kind, "target": target, "deadline": FUTURE.isoformat()}


async def test_concurrent_actions_repeats_and_retries_count_exactly_once(cw: CampaignsWorld) -> None:
    lead, member = await cw.org("lead"), await cw.org("member")
    coalition = await cw.shared_coalition(lead, member)
    campaign = await cw.launched(lead, "petition", coalition["id"], goal=goal("signature", 60))
    camp = campaign["id"]
    refs = [await cw.link_of(camp, lead), await cw.adopt(camp, member)]
    orgs = [lead.id, member.id]
    people = [supporter(f"p{i}") for i in range(60)]
    keys = [f"key-{uuid.uuid4().hex}" for _ in people]

    calls: list[tuple[str, int]] = []  # (what, person index), in the order of `requests`
    requests = []
    for i, person in enumerate(people):
        calls.append(("first", i))
        requests.append(cw.act(refs[i % 2], person=person, key=keys[i]))
    for i in range(10):  # the same person again, spelled differently, through the same link
        repeat = {**people[i], "email": people[i]["email"].upper()}
        calls.append(("repeat", i))
        requests.append(cw.act(refs[i % 2], person=repeat))
    for i in range(10, 20):  # a retry of the very same request
        calls.append(("retry", i))
        requests.append(cw.act(refs[i % 2], person=people[i], key=keys[i]))
    order = list(range(len(requests)))
    order.reverse()  # retries and repeats first or interleaved: the outcome must not depend on it
    answered: list[httpx.Response | None] = [None] * len(requests)

    async def send(index: int) -> None:
        answered[index] = await requests[index]

    await asyncio.gather(*(send(i) for i in order))
    responses = [r for r in answered if r is not None]
    assert len(responses) == len(requests)
    for response in responses:
        assert response.status_code in (200, 201), response.text

    per_person: dict[int, list[dict[str, Any]]] = {}
    for (what, i), response in zip(calls, responses, strict=True):
        # The HTTP status last: the body has its own `status` (recorded, already_recorded, pending_confirmation).
        per_person.setdefault(i, []).append({"what": what, **response.json(), "status": response.status_code})
    for i, outcomes in per_person.items():
        new = [o for o in outcomes if o["status"] == 201 and not o["replayed"]]
        assert len(new) == 1, (i, outcomes)
        assert new[0]["supporter_token"], outcomes
        assert len({o["action"]["id"] for o in outcomes}) == 1, outcomes  # one action per person
        for o in outcomes:
            if o is new[0]:
                continue
            if o["replayed"]:  # the first result, as it was, but never its secret
                assert o["status"] == 201
                assert o["supporter_token"] is None
            else:  # the same person again: nothing new, and no token to someone who only knows an address
                assert o["status"] == 200
                assert o["already_recorded"] is True
                assert o["supporter_token"] is None

    stats = await cw.stats(camp, member)
    assert stats["counts"] == {"signature": 60}
    assert stats["unique_supporters"] == 60
    assert {
        c["organization_id"]: (c["counts"], c["unique_supporters"]) for c in stats["by_organization"]
    } == {
        orgs[0]: ({"signature": 30}, 30),
        orgs[1]: ({"signature": 30}, 30),
    }
    today = datetime.now(UTC).date()
    assert {d["date"] for d in stats["daily"]} <= {today.isoformat(), (today - timedelta(days=1)).isoformat()}
    assert sum(d["counts"]["signature"] for d in stats["daily"]) == 60
    # Counted in batches: a milestone records the value of the batch that crossed it.
    assert [m["milestone"] for m in stats["milestones"]] == [25, 50, 75, 100]
    for m in stats["milestones"]:
        assert 60 * m["milestone"] // 100 <= m["value"] <= 60
    db = cw.service.repo.db
    assert await db["actions"].count_documents({"campaign_id": uuid.UUID(camp)}) == 60
    assert await db["supporters"].count_documents({"campaign_id": uuid.UUID(camp)}) == 60

    records = await cw.published(
        camp, topics.CAMPAIGNS_CAMPAIGNS, topics.CAMPAIGNS_ACTIONS, topics.FEDERATION_CAMPAIGNS
    )
    types = Counter(r.type for r in records)
    assert types["campaigns.action.recorded"] == 60
    assert len({r.data["action_id"] for r in records if r.type == "campaigns.action.recorded"}) == 60
    assert 1 <= types["federation.campaign.progressed"] <= 60  # one per counted batch
    for event_type, topic in (
        ("campaigns.goal.milestone_reached", topics.CAMPAIGNS_CAMPAIGNS),
        ("federation.campaign.milestone_reached", topics.FEDERATION_CAMPAIGNS),
    ):
        reached = [r for r in records if r.type == event_type]
        assert sorted(r.data["milestone"] for r in reached) == [25, 50, 75, 100], event_type
        assert {r.topic for r in reached} == {topic}
        assert {r.key for r in reached} == {camp}
    progressed = [r.data for r in records if r.type == "federation.campaign.progressed"]
    assert max(p["unique_supporters"] for p in progressed) == 60
    totals = [p["counts"]["signature"] for p in progressed]
    assert totals == sorted(totals)  # in order on the campaign's partition, never going back
    assert len(set(totals)) == len(totals)
    last = progressed[-1]
    assert last["counts"]["signature"] == 60
    assert last["organization_counts"] == {orgs[0]: {"signature": 30}, orgs[1]: {"signature": 30}}
    assert last["goal_percent"] == 100.0


async def test_concurrent_rsvps_never_exceed_the_capacity(cw: CampaignsWorld) -> None:
    owner = await cw.org("host")
    campaign = await cw.launched(owner, "event", details={**DETAILS["event"], "capacity": 4})
    ref = await cw.link_of(campaign["id"], owner)
    responses = await asyncio.gather(*(cw.act(ref, "rsvps", supporter(f"r{i}")) for i in range(12)))
    assert sorted(r.status_code for r in responses) == [201] * 4 + [409] * 8
    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {"rsvp": 4}
    assert stats["unique_supporters"] == 4
