"""Test helpers for advocacy days, outcome goals, impact reports and disclosures: campaigns arranged over
HTTP, other services' events produced on their real topics, and the staged requests the revocation
matrix sends to these routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from campaigns_world import DETAILS, CampaignsWorld, goal, supporter
from coalition_world import Org

from common.contracts import coalition as coal
from common.contracts import identity as idn
from common.events import EventPayload, make_event
from eventually import eventually

NOW = datetime.now(UTC)
NIL = "00000000-0000-4000-8000-000000000000"


def advocacy_day_details() -> dict[str, Any]:
    return {**DETAILS["event"], "event_type": "advocacy_day", "place": "Parliament, Brussels"}


def unique_supporter(tag: str) -> dict[str, Any]:
    """A supporter whose names and address appear nowhere else (a scan for them cannot hit by chance)."""
    mark = uuid.uuid4().hex[:10]
    return supporter(tag, first_name=f"Zelda{mark}", last_name=f"Quorra{mark}")


def meeting_body(
    attendee_ids: list[str], *, starts_in: timedelta = timedelta(hours=-2), **changes: Any
) -> dict[str, Any]:
    starts = NOW + starts_in
    return {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "time_zone": "Europe/Brussels",
        "place": "Office 4.12, Parliament",
        "agenda": "Ask for the 180-day reimbursement amendment.",
        "targets": [{"name": "A. Member", "office": "Health committee"}],
        "attendee_ids": attendee_ids,
        **changes,
    }


def outcome_goal_body(**changes: Any) -> dict[str, Any]:
    return {
        "indicator": "Clinics open one evening a week",
        "unit": "clinics",
        "baseline": 0,
        "target": 100,
        "direction": "increase",
        "deadline": (NOW + timedelta(days=365)).isoformat(),
        "data_source": "Regional health authority register",
        **changes,
    }


async def advocacy_day(cw: CampaignsWorld, org: Org, coalition_id: str | None = None) -> tuple[str, str]:
    """A launched advocacy day of `org`; its id and the organization's link."""
    campaign = await cw.launched(
        org, "event", coalition_id, details=advocacy_day_details(), goal=goal("event")
    )
    return str(campaign["id"]), await cw.link_of(str(campaign["id"]), org)


async def rsvp(cw: CampaignsWorld, ref: str, person: dict[str, Any]) -> str:
    """The supporter id of a new RSVP through `ref`."""
    told = await cw.act(ref, "rsvps", person=person)
    assert told.status_code == 201, told.text
    me = await cw.campaigns.post("/v1/public/supporter", json={"token": told.json()["supporter_token"]})
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


async def produce(cw: CampaignsWorld, *payloads: EventPayload, key: str) -> None:
    """Publish another service's events on their real topics (as identity or coalition would)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=cw.campaigns_app.state.settings.kafka_bootstrap_servers, enable_idempotence=False
    )
    await producer.start()
    try:
        for payload in payloads:
            event = make_event(payload, source="urn:test:producer", subject=key)
            await producer.send_and_wait(payload.topic, event.to_bytes(), key=key.encode())
    finally:
        await producer.stop()


async def declare_funding(cw: CampaignsWorld, org: Org, *, declared_at: datetime, funder: str) -> None:
    """Identity's disclosure event for `org`, produced on its topic; waits until campaigns projected it."""
    payload = idn.OrganizationDisclosuresUpdated(
        organization_id=uuid.UUID(org.id),
        funders=[
            idn.Funder(
                name=funder,
                kind="pharmaceutical",
                amount_band="10k_50k",
                year=declared_at.year,
                purpose="Patient day",
            )
        ],
        declared_at=declared_at,
        updated_by=uuid.uuid4(),
    )
    await produce(cw, payload, key=org.id)
    orgs = cw.campaigns_app.state.runtime.db["org_disclosures"]

    async def seen() -> bool:
        doc = await orgs.find_one({"_id": uuid.UUID(org.id)})
        return doc is not None and doc.get("declared_at") is not None and doc["funders"][0]["name"] == funder

    await eventually(seen, within=60, message="the disclosure in the campaigns projection")


async def require_disclosure(cw: CampaignsWorld, coalition: dict[str, Any]) -> None:
    """The coalition's update requiring a current disclosure, as the coalition service publishes it."""
    payload = coal.CoalitionUpdated(
        coalition_id=uuid.UUID(coalition["id"]),
        name=coalition["name"],
        visibility=coalition["visibility"],
        focus_areas=coalition["focus_areas"],
        countries=coalition["countries"],
        changed_fields=["require_current_disclosure"],
        require_current_disclosure=True,
    )
    await produce(cw, payload, key=coalition["id"])

    async def seen() -> bool:
        doc = await cw.service.repo.get_coalition(uuid.UUID(coalition["id"]))
        return doc is not None and doc.get("require_current_disclosure") is True

    await eventually(seen, within=60, message="the disclosure requirement in the campaigns projection")


# ---- the revocation matrix's requests on these routes --------------------------------------------------


async def _meeting(world: CampaignsWorld, acting: Org) -> tuple[str, str]:
    campaign_id, ref = await advocacy_day(world, acting)
    attendee = await rsvp(world, ref, unique_supporter("attendee"))
    made = await world.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings", json=meeting_body([attendee]), headers=acting.headers
    )
    assert made.status_code == 201, made.text
    return campaign_id, str(made.json()["id"])


async def _goal(world: CampaignsWorld, acting: Org, **changes: Any) -> tuple[str, str]:
    campaign_id = str((await world.launched(acting))["id"])
    made = await world.campaigns.post(
        f"/v1/campaigns/{campaign_id}/outcome-goals",
        json=outcome_goal_body(**changes),
        headers=acting.headers,
    )
    assert made.status_code == 201, made.text
    return campaign_id, str(made.json()["id"])


Staged = tuple[str, str, dict[str, str] | None, Any]


async def stage_schedule(world: CampaignsWorld, acting: Org) -> Staged:
    campaign_id, ref = await advocacy_day(world, acting)
    attendee = await rsvp(world, ref, unique_supporter("attendee"))
    return "POST", f"/v1/campaigns/{campaign_id}/meetings", None, meeting_body([attendee])


async def stage_report(world: CampaignsWorld, acting: Org) -> Staged:
    campaign_id, meeting_id = await _meeting(world, acting)
    return (
        "POST",
        f"/v1/campaigns/{campaign_id}/meetings/{meeting_id}/report",
        None,
        {"outcome": "supportive"},
    )


async def stage_measure(world: CampaignsWorld, acting: Org) -> Staged:
    campaign_id, goal_id = await _goal(world, acting)
    body = {"measured_on": NOW.date().isoformat(), "value": 30}
    return "POST", f"/v1/campaigns/{campaign_id}/outcome-goals/{goal_id}/measurements", None, body


async def stage_judge(world: CampaignsWorld, acting: Org) -> Staged:
    campaign_id, goal_id = await _goal(world, acting, deadline=(NOW - timedelta(days=1)).isoformat())
    body = {"verdict": "achieved", "statement": "Three clinics opened an evening."}
    return "POST", f"/v1/campaigns/{campaign_id}/outcome-goals/{goal_id}/verdict", None, body


STAGES = {
    "advocacy day with an RSVP": stage_schedule,
    "held meeting": stage_report,
    "outcome goal": stage_measure,
    "outcome goal past its deadline": stage_judge,
}


async def coalition_led_by(world: CampaignsWorld, acting: Org) -> str:
    coalition = await world.coalition(acting)
    await world.projected(str(coalition["id"]), acting.id)
    return str(coalition["id"])


async def stage_coalition(world: CampaignsWorld, acting: Org) -> dict[tuple[str, str], Staged]:
    """A valid request for each coalition-wide route, in a coalition `acting` leads."""
    cid = await coalition_led_by(world, acting)
    base = f"/v1/coalitions/{cid}"
    goals = []
    for changes in ({}, {"deadline": (NOW - timedelta(days=1)).isoformat()}):
        made = await world.campaigns.post(
            f"{base}/outcome-goals", json=outcome_goal_body(**changes), headers=acting.headers
        )
        assert made.status_code == 201, made.text
        goals.append(str(made.json()["id"]))
    c = "/v1/coalitions/{coalition_id}"
    return {
        ("POST", c + "/outcome-goals"): ("POST", f"{base}/outcome-goals", None, outcome_goal_body()),
        ("GET", c + "/outcome-goals"): ("GET", f"{base}/outcome-goals", None, None),
        ("POST", c + "/outcome-goals/{goal_id}/measurements"): (
            "POST",
            f"{base}/outcome-goals/{goals[0]}/measurements",
            None,
            {"measured_on": NOW.date().isoformat(), "value": 60},
        ),
        ("POST", c + "/outcome-goals/{goal_id}/verdict"): (
            "POST",
            f"{base}/outcome-goals/{goals[1]}/verdict",
            None,
            {"verdict": "missed", "statement": "No clinic changed its hours."},
        ),
        ("GET", c + "/impact-report"): ("GET", f"{base}/impact-report", None, None),
        ("GET", c + "/impact-report.pdf"): ("GET", f"{base}/impact-report.pdf", None, None),
    }


COALITION_READS = {("GET", "/v1/coalitions/{coalition_id}/outcome-goals")}
