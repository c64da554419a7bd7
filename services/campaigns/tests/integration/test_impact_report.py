"""Impact reports: the managers' page and PDF with charts (progress over time, actions per organization),
goals, meetings and outcomes; a public version, only when published, without any personal data."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

from advocacy_world import (
    advocacy_day,
    coalition_led_by,
    meeting_body,
    outcome_goal_body,
    rsvp,
    unique_supporter,
)
from campaigns_world import CampaignsWorld, problem
from coalition_world import Org
from pypdf import PdfReader

CHART = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
PNG = b"\x89PNG\r\n\x1a\n"


async def _arranged(cw: CampaignsWorld) -> tuple[Org, str, str, list[dict[str, Any]]]:
    """An advocacy day with RSVPs, a reported meeting naming a supporter in its free text, and an outcome
    goal with measurements."""
    org = await cw.org("impact")
    campaign_id, ref = await advocacy_day(cw, org)
    people = [unique_supporter("rsvp") for _ in range(3)]
    attendees = [await rsvp(cw, ref, p) for p in people]
    made = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings", json=meeting_body(attendees[:2]), headers=org.headers
    )
    assert made.status_code == 201, made.text
    reported = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/meetings/{made.json()['id']}/report",
        json={"outcome": "supportive", "commitments": f"{people[0]['first_name']} will send the data."},
        headers=org.headers,
    )
    assert reported.status_code == 200, reported.text
    goal = await cw.campaigns.post(
        f"/v1/campaigns/{campaign_id}/outcome-goals",
        json=outcome_goal_body(indicator="Evening clinics in the region"),
        headers=org.headers,
    )
    for day, value in (("2026-03-01", 20), ("2026-06-01", 55)):
        measured = await cw.campaigns.post(
            f"/v1/campaigns/{campaign_id}/outcome-goals/{goal.json()['id']}/measurements",
            json={"measured_on": day, "value": value, "note": f"Called {people[1]['last_name']}"},
            headers=org.headers,
        )
        assert measured.status_code == 201, measured.text
    await cw.counted(campaign_id)
    return org, campaign_id, ref, people


async def test_the_impact_report_renders_as_a_page_and_a_pdf_with_charts(cw: CampaignsWorld) -> None:
    org, campaign_id, _, people = await _arranged(cw)

    page = await cw.get(f"/v1/campaigns/{campaign_id}/impact-report", org)
    pdf = await cw.get(f"/v1/campaigns/{campaign_id}/impact-report.pdf", org)

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    charts = CHART.findall(page.text)
    assert len(charts) == 3
    assert all(base64.b64decode(c).startswith(PNG) for c in charts)
    assert "Evening clinics in the region" in page.text
    assert "55" in page.text
    assert "supportive" in page.text
    assert people[0]["first_name"] in page.text  # the managers' report keeps the report-back's words
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Impact report" in text
    assert "Evening clinics in the region" in text
    assert sum(len(p.images) for p in reader.pages) == 3


async def test_the_public_report_is_shown_only_when_published_and_holds_no_personal_data(
    cw: CampaignsWorld,
) -> None:
    org, campaign_id, ref, people = await _arranged(cw)
    publication = f"/v1/campaigns/{campaign_id}/impact-report/publication"

    before = await cw.campaigns.get(f"/v1/public/links/{ref}/impact-report")
    published = await cw.campaigns.put(publication, json={"published": True}, headers=org.headers)
    public = await cw.campaigns.get(f"/v1/public/links/{ref}/impact-report")
    withdrawn = await cw.campaigns.put(publication, json={"published": False}, headers=org.headers)
    after = await cw.campaigns.get(f"/v1/public/links/{ref}/impact-report")

    problem(before, 404)
    assert published.status_code == 200, published.text
    assert public.status_code == 200, public.text
    assert len(CHART.findall(public.text)) == 3
    assert "Evening clinics in the region" in public.text
    assert "supportive" in public.text
    for person in people:
        for value in (person["email"], person["first_name"], person["last_name"]):
            assert value.lower() not in public.text.lower(), value
    assert withdrawn.status_code == 200, withdrawn.text
    problem(after, 404)


async def test_a_coalitions_report_is_for_its_lead_organizations(cw: CampaignsWorld) -> None:
    lead, member, outsider = (
        await cw.org("report-lead"),
        await cw.org("report-member"),
        await cw.org("report-out"),
    )
    coalition = await cw.shared_coalition(lead, member)
    cid = coalition["id"]
    campaign = await cw.launched(lead, "petition", cid, title="Screening for every newborn")
    await cw.adopt(str(campaign["id"]), member)
    made = await cw.campaigns.post(
        f"/v1/coalitions/{cid}/outcome-goals",
        json=outcome_goal_body(indicator="Regions screening"),
        headers=lead.headers,
    )
    assert made.status_code == 201, made.text
    other = await coalition_led_by(cw, outsider)

    page = await cw.get(f"/v1/coalitions/{cid}/impact-report", lead)
    pdf = await cw.get(f"/v1/coalitions/{cid}/impact-report.pdf", lead)
    by_member = await cw.get(f"/v1/coalitions/{cid}/impact-report", member)
    by_outsider = await cw.get(f"/v1/coalitions/{cid}/impact-report.pdf", outsider)
    no_token = await cw.campaigns.get(f"/v1/coalitions/{cid}/impact-report")

    assert page.status_code == 200, page.text
    assert "Screening for every newborn" in page.text
    assert "Regions screening" in page.text
    assert len(CHART.findall(page.text)) == 3
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF-")
    problem(by_member, 403)
    problem(by_outsider, 404)
    problem(no_token, 401)
    assert other not in page.text


async def test_the_report_is_for_the_campaigns_managers(cw: CampaignsWorld) -> None:
    org = await cw.org("report-owner")
    campaign_id, ref = await advocacy_day(cw, org)
    member = await cw.identity.add_member(org.id, org.admin, role="member")

    problem(await cw.campaigns.get(f"/v1/campaigns/{campaign_id}/impact-report", headers=member.headers), 403)
    problem(
        await cw.campaigns.put(
            f"/v1/campaigns/{campaign_id}/impact-report/publication",
            json={"published": True},
            headers=member.headers,
        ),
        403,
    )
    problem(
        await cw.campaigns.put(
            f"/v1/campaigns/{campaign_id}/impact-report/publication",
            json={"published": "yes"},
            headers=org.headers,
        ),
        422,
    )
    problem(await cw.campaigns.get("/v1/public/links/Unknown_Ref_0/impact-report"), 404)
    problem(await cw.campaigns.get("/v1/public/links/bad ref!/impact-report"), 422)
    problem(await cw.campaigns.get(f"/v1/public/links/{ref}/impact-report"), 404)
