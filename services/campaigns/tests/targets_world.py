"""Test helpers for decision-makers: directories, letter campaigns addressed to them, and the reports
the notifications service sends back (produced here on the real topic)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from campaigns_world import DETAILS, CampaignsWorld, goal
from coalition_world import Org

from common.contracts import topics
from common.events import EventPayload, make_event

COLUMNS = ("name", "title", "office", "level", "jurisdiction", "district", "email", "country", "postal_codes")


def target_csv(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()


def decision_maker(name: str, level: str, codes: str, country: str = "BE", **fields: str) -> dict[str, str]:
    return {
        "name": name,
        "title": "Representative",
        "office": f"{level.title()} council",
        "level": level,
        "jurisdiction": "Brussels",
        "district": "Centre",
        "email": f"{name.lower().replace(' ', '.')}-{uuid.uuid4().hex[:6]}@parliament.example",
        "country": country,
        "postal_codes": codes,
        **fields,
    }


# One decision-maker per level representing 1000 Brussels, and two who do not.
BRUSSELS = [
    decision_maker("Lea Local", "local", "1000 1020"),
    decision_maker("Rui Regional", "regional", "10* 11*"),
    decision_maker("Nina National", "national", "*"),
    decision_maker("Sam Supranational", "supranational", "*"),
    decision_maker("Otto Elsewhere", "local", "2000"),
    decision_maker("Dora Dutch", "national", "*", country="NL"),
]


def as_json(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the JSON body of `POST /v1/targets`."""
    return {**row, "postal_codes": row["postal_codes"].split()}


async def imported(
    cw: CampaignsWorld, org: Org, rows: list[dict[str, str]], **owner: str
) -> list[dict[str, Any]]:
    body = {"csv": target_csv(rows), **(owner or {"organization_id": org.id})}
    response = await cw.campaigns.post("/v1/target-imports", json=body, headers=org.headers)
    assert response.status_code == 201, response.text
    return list(response.json()["targets"])


def letter_details(**changes: Any) -> dict[str, Any]:
    details = {k: v for k, v in DETAILS["letter"].items() if k != "targets"}
    return {**details, **changes}


async def letter_campaign(
    cw: CampaignsWorld, org: Org, coalition_id: str | None = None, **details: Any
) -> str:
    campaign = await cw.launched(
        org, "letter", coalition_id, details=letter_details(**details), goal=goal("letter")
    )
    return str(campaign["id"])


async def report(bootstrap: str, *payloads: EventPayload) -> None:
    """Publish what the notifications service would, on its real topic."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for payload in payloads:
            campaign_id = str(payload.model_dump()["campaign_id"])
            event = make_event(payload, source="urn:test:notifications", subject=f"campaigns/{campaign_id}")
            await producer.send_and_wait(
                topics.NOTIFICATIONS_DELIVERIES, event.to_bytes(), key=campaign_id.encode()
            )
    finally:
        await producer.stop()
