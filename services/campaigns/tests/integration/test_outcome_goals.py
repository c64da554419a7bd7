"""Outcome goals of a campaign and of a coalition: measurements, progress from baseline to target in the
goal's direction, each 25/50/75/100 % milestone announced exactly once (even under concurrent
measurements), and the verdict once the deadline has passed."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta
from typing import Any

from advocacy_world import NOW, coalition_led_by, outcome_goal_body
from campaigns_world import CampaignsWorld, problem
from coalition_world import Org

from common.contracts import topics


async def _goal(cw: CampaignsWorld, org: Org, **changes: Any) -> tuple[str, str]:
    campaign_id = str((await cw.launched(org))["id"])
    made = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/outcome-goals", json=outcome_goal_body(**changes), headers=org.headers
    )
    assert made.status_code == 201, made.text
    return campaign_id, str(made.json()["id"])


async def test_concurrent_measurements_cross_each_milestone_exactly_once(cw: CampaignsWorld) -> None:
    org = await cw.org("measuring")
    campaign_id, goal_id = await _goal(cw, org)
    url = f"/v1/campaigns/{campaign_id}/outcome-goals/{goal_id}/measurements"
    values = [10, 30, 45, 60, 80, 90, 100, 110]
    first = date(2026, 1, 1)

    answers = await asyncio.gather(
        *(
            cw.campaigns.post(
                url,
                json={
                    "measured_on": (first + timedelta(days=i)).isoformat(),
                    "value": v,
                    "source": "Register",
                },
                headers=org.headers,
            )
            for i, v in enumerate(values)
        )
    )

    assert [a.status_code for a in answers] == [201] * len(values), [a.text for a in answers]
    records = await cw.published(campaign_id, topics.CAMPAIGNS_CAMPAIGNS)
    mine = [r for r in records if r.data.get("goal_id") == goal_id]
    reached = Counter(r.data["milestone"] for r in mine if r.type == "campaigns.outcome.milestone_reached")
    assert reached == Counter({25: 1, 50: 1, 75: 1, 100: 1})
    assert len([r for r in mine if r.type == "campaigns.outcome.measured"]) == len(values)
    listed = await cw.get(f"/v1/campaigns/{campaign_id}/outcome-goals", org)
    assert listed.status_code == 200, listed.text
    goal = listed.json()["items"][0]
    assert goal["latest_value"] == 110
    assert goal["percent"] == 100.0  # clamped
    assert sorted(m["milestone"] for m in goal["milestones"]) == [25, 50, 75, 100]
    assert len(goal["measurements"]) == len(values)


async def test_a_decreasing_goal_progresses_as_the_value_falls_and_is_clamped(cw: CampaignsWorld) -> None:
    org = await cw.org("decreasing")
    campaign_id, goal_id = await _goal(
        cw,
        org,
        indicator="No-show rate at the clinic",
        unit="%",
        baseline=20,
        target=17,
        direction="decrease",
    )
    url = f"/v1/campaigns/{campaign_id}/outcome-goals/{goal_id}/measurements"
    seen = []
    for day, value in (("2026-02-01", 25), ("2026-03-01", 18.5), ("2026-04-01", 12)):
        measured = await cw.campaigns.post(
            url, json={"measured_on": day, "value": value}, headers=org.headers
        )
        assert measured.status_code == 201, measured.text
        seen.append(measured.json()["percent"])
    backdated = await cw.campaigns.post(
        url, json={"measured_on": "2026-01-01", "value": 19}, headers=org.headers
    )

    assert seen == [0.0, 50.0, 100.0]
    assert backdated.status_code == 201, backdated.text
    goal = (await cw.get(f"/v1/campaigns/{campaign_id}/outcome-goals", org)).json()["items"][0]
    assert goal["latest_value"] == 12  # an older measurement does not replace the latest
    assert sorted(m["milestone"] for m in goal["milestones"]) == [25, 50, 75, 100]


async def test_a_goal_is_judged_once_and_only_after_its_deadline(cw: CampaignsWorld) -> None:
    org = await cw.org("judging")
    campaign_id, open_goal = await _goal(cw, org)
    past = (NOW - timedelta(days=1)).isoformat()
    made = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/outcome-goals",
        json=outcome_goal_body(deadline=past),
        headers=org.headers,
    )
    due_goal = made.json()["id"]
    verdict = {"verdict": "partly_achieved", "statement": "Two of four clinics opened an evening."}

    early = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/outcome-goals/{open_goal}/verdict", json=verdict, headers=org.headers
    )
    judged = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/outcome-goals/{due_goal}/verdict", json=verdict, headers=org.headers
    )
    again = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/outcome-goals/{due_goal}/verdict",
        json={**verdict, "verdict": "missed"},
        headers=org.headers,
    )

    problem(early, 409)
    assert judged.status_code == 200, judged.text
    assert judged.json()["verdict"] == "partly_achieved"
    assert judged.json()["statement"] == verdict["statement"]
    problem(again, 409)
    records = await cw.published(campaign_id, topics.CAMPAIGNS_CAMPAIGNS)
    judgements = [r.data for r in records if r.type == "campaigns.outcome.judged"]
    assert [(j["goal_id"], j["verdict"]) for j in judgements] == [(due_goal, "partly_achieved")]


async def test_a_goal_is_not_found_through_another_campaign(cw: CampaignsWorld) -> None:
    org = await cw.org("two-campaigns")
    campaign_id, goal_id = await _goal(cw, org)
    other = str((await cw.launched(org))["id"])

    response = await cw.campaigns.post(
        f"/v1/campaigns/{other}/outcome-goals/{goal_id}/measurements",
        json={"measured_on": "2026-01-01", "value": 1},
        headers=org.headers,
    )

    problem(response, 404)
    assert campaign_id not in response.text


async def test_outcome_goals_that_make_no_sense_are_422(cw: CampaignsWorld) -> None:
    org = await cw.org("nonsense-goals")
    campaign_id, goal_id = await _goal(cw, org)
    goals = f"/v1/campaigns/{campaign_id}/outcome-goals"

    for changes in (
        {"direction": "increase", "baseline": 10, "target": 5},
        {"direction": "decrease", "baseline": 5, "target": 10},
        {"direction": "sideways"},
        {"deadline": 1767225600},
        {"deadline": "2027-01-01T00:00:00"},
        {"unit": "x" * 41},
        {"indicator": "two\nlines"},
        {"target": "NaN"},
        {"baseline": 1e13},
    ):
        problem(await cw.campaigns.post(goals, json=outcome_goal_body(**changes), headers=org.headers), 422)
    for body in (
        {"measured_on": "2026-13-01", "value": 1},
        {"measured_on": "2026-01-01", "value": "Infinity"},
        {"measured_on": "2026-01-01", "value": 1, "evidence_url": "javascript:alert(1)"},
        {"measured_on": "2026-01-01", "value": 1, "note": "bad\u202enote"},
    ):
        problem(
            await cw.campaigns.post(f"{goals}/{goal_id}/measurements", json=body, headers=org.headers), 422
        )
    for body in ({"verdict": "won", "statement": "x"}, {"verdict": "achieved", "statement": ""}):
        problem(await cw.campaigns.post(f"{goals}/{goal_id}/verdict", json=body, headers=org.headers), 422)


async def test_a_coalitions_goals_are_set_by_its_leads_and_read_by_its_members(cw: CampaignsWorld) -> None:
    lead, member, outsider = (
        await cw.org("goal-lead"),
        await cw.org("goal-member"),
        await cw.org("goal-outsider"),
    )
    coalition = await cw.shared_coalition(lead, member)
    base = f"/v1/coalitions/{coalition['id']}/outcome-goals"

    made = await cw.campaigns.post(base, json=outcome_goal_body(), headers=lead.headers)
    goal_id = made.json()["id"]
    measured = await cw.campaigns.post(
        f"{base}/{goal_id}/measurements",
        json={"measured_on": "2026-05-01", "value": 55},
        headers=lead.headers,
    )
    by_member = await cw.campaigns.post(base, json=outcome_goal_body(), headers=member.headers)
    member_measures = await cw.campaigns.post(
        f"{base}/{goal_id}/measurements",
        json={"measured_on": "2026-05-02", "value": 99},
        headers=member.headers,
    )
    read = await cw.campaigns.get(base, headers=member.headers)
    outsider_reads = await cw.campaigns.get(base, headers=outsider.headers)
    outsider_writes = await cw.campaigns.post(base, json=outcome_goal_body(), headers=outsider.headers)
    no_token = await cw.campaigns.get(base)

    assert made.status_code == 201, made.text
    assert measured.status_code == 201, measured.text
    problem(by_member, 403)
    problem(member_measures, 403)
    assert read.status_code == 200, read.text
    assert [(g["id"], g["percent"]) for g in read.json()["items"]] == [(goal_id, 55.0)]
    problem(outsider_reads, 404)
    problem(outsider_writes, 404)
    problem(no_token, 401)
    records = await cw.published(coalition["id"], topics.CAMPAIGNS_CAMPAIGNS)
    reached = sorted(r.data["milestone"] for r in records if r.type == "campaigns.outcome.milestone_reached")
    assert reached == [25, 50]


async def test_another_coalitions_goal_is_not_found(cw: CampaignsWorld) -> None:
    lead = await cw.org("two-coalitions")
    first, second = await coalition_led_by(cw, lead), await coalition_led_by(cw, lead)
    made = await cw.campaigns.post(
        f"/v1/coalitions/{first}/outcome-goals", json=outcome_goal_body(), headers=lead.headers
    )

    response = await cw.campaigns.post(
        f"/v1/coalitions/{second}/outcome-goals/{made.json()['id']}/measurements",
        json={"measured_on": "2026-01-01", "value": 1},
        headers=lead.headers,
    )

    problem(response, 404)
