"""Advocacy-day meetings: a manager schedules a meeting with decision-makers for supporters who RSVP'd
through the organization's link; the schedule goes to notifications (private topic) with each attendee's
report-back link derivable from their id; an attendee (by that link) or a manager reports back once;
the report goes to partners without personal data."""

from __future__ import annotations

import uuid
from datetime import timedelta

from advocacy_world import advocacy_day, meeting_body, rsvp, unique_supporter
from campaigns_world import CampaignsWorld, problem

from common import links
from common.contracts import topics


async def test_a_meeting_is_scheduled_mailed_and_reported_back_by_an_attendee(cw: CampaignsWorld) -> None:
    org = await cw.org("advocates")
    campaign_id, ref = await advocacy_day(cw, org)
    people = [unique_supporter("first"), unique_supporter("second")]
    attendees = [await rsvp(cw, ref, p) for p in people]

    scheduled = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings", json=meeting_body(attendees), headers=org.headers
    )

    assert scheduled.status_code == 201, scheduled.text
    meeting = scheduled.json()
    assert [a["supporter_id"] for a in meeting["attendees"]] == attendees
    assert [a["first_name"] for a in meeting["attendees"]] == [p["first_name"] for p in people]
    assert all(a["report_link_sent"] for a in meeting["attendees"])
    records = await cw.published(campaign_id, topics.CAMPAIGNS_CAMPAIGNS)
    (order,) = [r.data for r in records if r.type == "campaigns.meeting.scheduled"]
    assert order["meeting_id"] == meeting["id"]
    assert sorted(a["email"] for a in order["attendees"]) == sorted(p["email"] for p in people)
    assert order["time_zone"] == "Europe/Brussels"
    assert [t["name"] for t in order["targets"]] == ["A. Member"]
    assert order["report_url_base"].endswith("/v1/public/meeting-reports?report_token=")
    # The token never travels: notifications derives it from the attendee's id with the shared secret.
    token = links.derive_link_token(
        links.DEVELOPMENT_LINK_SECRET, links.MEETING_REPORT, uuid.UUID(order["attendees"][0]["attendee_id"])
    )
    assert token not in str(records)

    shown = await cw.campaigns.get("/v1/public/meeting-reports", params={"report_token": token})
    reported = await cw.campaigns.post(
        "/v1/public/meeting-reports",
        json={
            "report_token": token,
            "outcome": "follow_up_needed",
            "commitments": "Will ask the minister for the 2027 budget line.",
            "follow_up": "Send the screening data by Friday.",
        },
    )
    again = await cw.campaigns.post(
        "/v1/public/meeting-reports", json={"report_token": token, "outcome": "supportive"}
    )
    by_manager = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings/{meeting['id']}/report",
        json={"outcome": "opposed"},
        headers=org.headers,
    )

    assert shown.status_code == 200, shown.text
    assert shown.json()["reported"] is False
    assert "supportive" in shown.json()["outcomes"]
    assert all(p["email"] not in shown.text and p["first_name"] not in shown.text for p in people)
    assert reported.status_code == 200, reported.text
    assert reported.json()["reported"] is True
    problem(again, 409)
    problem(by_manager, 409)
    listed = (await cw.get(f"/v1/campaigns/{campaign_id}/meetings", org)).json()
    assert listed[0]["report"]["outcome"] == "follow_up_needed"
    assert listed[0]["report"]["reported_by"] == "attendee"
    assert listed[0]["report"]["follow_up_needed"] is True
    records = await cw.published(campaign_id, topics.CAMPAIGNS_CAMPAIGNS, topics.FEDERATION_CAMPAIGNS)
    (internal,) = [r for r in records if r.type == "campaigns.meeting.reported"]
    (federated,) = [r for r in records if r.type == "federation.meeting.reported"]
    assert internal.data["outcome"] == federated.data["outcome"] == "follow_up_needed"
    assert federated.topic == topics.FEDERATION_CAMPAIGNS
    for record in (internal, federated):
        text = record.raw.decode()
        for person in people:
            for value in (person["email"], person["first_name"], person["last_name"]):
                assert value not in text
        assert "Friday" not in text  # the free texts stay with the managers


async def test_a_manager_reports_back_once_the_meeting_has_started(cw: CampaignsWorld) -> None:
    org = await cw.org("manager-reports")
    campaign_id, ref = await advocacy_day(cw, org)
    attendee = await rsvp(cw, ref, unique_supporter("attendee"))
    future = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings",
        json=meeting_body([attendee], starts_in=timedelta(days=2)),
        headers=org.headers,
    )
    held = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings", json=meeting_body([attendee]), headers=org.headers
    )

    early = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings/{future.json()['id']}/report",
        json={"outcome": "supportive"},
        headers=org.headers,
    )
    reported = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings/{held.json()['id']}/report",
        json={"outcome": "undecided", "notes": "Asked for the cost estimate."},
        headers=org.headers,
    )

    problem(early, 409)
    assert reported.status_code == 200, reported.text
    assert reported.json()["report"]["reported_by"] == "manager"
    assert reported.json()["report"]["follow_up_needed"] is False


async def test_attendees_are_the_organizations_own_rsvps_of_this_advocacy_day(cw: CampaignsWorld) -> None:
    org = await cw.org("rsvp-check")
    campaign_id, _ = await advocacy_day(cw, org)
    other_day, other_ref = await advocacy_day(cw, org)
    elsewhere = await rsvp(cw, other_ref, unique_supporter("elsewhere"))
    health_fair = str((await cw.launched(org, "event"))["id"])
    meetings = f"/v1/campaigns/{campaign_id}/meetings"

    for attendees in ([elsewhere], [str(uuid.uuid4())]):
        body = problem(
            await cw.campaigns.post(meetings, json=meeting_body(attendees), headers=org.headers), 422
        )
        assert body["field"] == "attendee_ids.0"
    not_a_day = await cw.campaigns.post(
        f"/v1/campaigns/{health_fair}/meetings", json=meeting_body([elsewhere]), headers=org.headers
    )
    unknown_target = await cw.campaigns.post(
        f"/v1/campaigns/{other_day}/meetings",
        json=meeting_body([elsewhere], targets=[{"target_id": str(uuid.uuid4())}]),
        headers=org.headers,
    )

    problem(not_a_day, 409)
    assert problem(unknown_target, 422)["field"] == "targets.0.target_id"


async def test_meetings_that_make_no_sense_are_422(cw: CampaignsWorld) -> None:
    org = await cw.org("meeting-nonsense")
    campaign_id, ref = await advocacy_day(cw, org)
    attendee = await rsvp(cw, ref, unique_supporter("attendee"))
    meetings = f"/v1/campaigns/{campaign_id}/meetings"

    for changes in (
        {"place": None},
        {"ends_at": meeting_body([attendee])["starts_at"]},
        {"time_zone": "Mars/Olympus"},
        {"starts_at": "2026-01-01T10:00:00"},
        {"targets": []},
        {"targets": [{"office": "No name"}]},
        {"attendee_ids": []},
        {"attendee_ids": [attendee, attendee]},
        {"online_url": "javascript:alert(1)"},
        {"agenda": "bad\u202eagenda"},
    ):
        body = {**meeting_body([attendee]), **changes}
        problem(await cw.campaigns.post(meetings, json=body, headers=org.headers), 422)
    for body in ({"outcome": "delighted"}, {"outcome": "supportive", "notes": "x" * 20_001}):
        problem(
            await cw.campaigns.post(f"{meetings}/{uuid.uuid4()}/report", json=body, headers=org.headers), 422
        )
    problem(await cw.campaigns.get("/v1/public/meeting-reports", params={"report_token": "mr_short"}), 422)
    unknown = "mr_" + "A" * 43
    problem(await cw.campaigns.get("/v1/public/meeting-reports", params={"report_token": unknown}), 404)
    problem(
        await cw.campaigns.post(
            "/v1/public/meeting-reports", json={"report_token": unknown, "outcome": "opposed"}
        ),
        404,
    )
