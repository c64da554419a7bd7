"""Routes for advocacy-day meetings, outcome goals, disclosures and impact reports (managers), and the
public ones: an attendee's report-back link and a published impact report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.responses import HTMLResponse

from campaigns.api.advocacy_schemas import (
    AttendeeRead,
    ConflictsRead,
    DisclosuresRead,
    MeasurementRead,
    MeetingRead,
    MilestoneReached,
    OutcomeGoalList,
    OutcomeGoalRead,
    Publication,
    PublicationRead,
    PublicMeeting,
    ReportRead,
)
from campaigns.api.ratelimit import limit_public
from campaigns.api.routes import ServiceDep
from campaigns.domain.disclosures import ConflictsIn
from campaigns.domain.meetings import (
    REPORT_TOKEN_PATTERN,
    AttendeeReport,
    MeetingIn,
    MeetingOutcome,
    ReportIn,
)
from campaigns.domain.outcomes import MeasurementIn, OutcomeGoal, OutcomeGoalIn, VerdictIn
from campaigns.reporting import ImpactReport
from campaigns.service import CampaignService
from campaigns.usecases.outcomes import GoalOwner
from common.auth import CurrentPrincipal, Principal
from common.contracts.campaigns import MeetingTarget
from common.mongo import Document

router = APIRouter(prefix="/v1", tags=["advocacy"])
public_router = APIRouter(prefix="/v1/public", tags=["public"], dependencies=[Depends(limit_public)])

CAMPAIGN = "/campaigns/{campaign_id}"
COALITION = "/coalitions/{coalition_id}"
ReportTokenQuery = Annotated[
    str, Query(pattern=REPORT_TOKEN_PATTERN, description="The token of an attendee's report-back link")
]
Ref = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,32}$", description="An organization's link code")]
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The PDF"}
}
HTML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "The page"}
}
NO_STORE = {"Cache-Control": "no-store"}


# ---- meetings --------------------------------------------------------------------------------------


def meeting_read(doc: Document, people: dict[UUID, Document]) -> MeetingRead:
    report = doc.get("report")
    return MeetingRead(
        id=doc["_id"],
        campaign_id=doc["campaign_id"],
        organization_id=doc["org_id"],
        starts_at=doc["starts_at"],
        ends_at=doc["ends_at"],
        time_zone=doc["time_zone"],
        place=doc.get("place"),
        online_url=doc.get("online_url"),
        agenda=doc.get("agenda"),
        targets=[MeetingTarget.model_validate(t) for t in doc["targets"]],
        attendees=[
            AttendeeRead(
                attendee_id=a["attendee_id"],
                supporter_id=a["supporter_id"],
                first_name=people.get(a["supporter_id"], {}).get("first_name"),
                last_name=people.get(a["supporter_id"], {}).get("last_name"),
                report_link_sent=a.get("token_digest") is not None,
            )
            for a in doc["attendees"]
        ],
        report=ReportRead.model_validate(report) if report else None,
        created_at=doc["created_at"],
    )


@router.post(
    CAMPAIGN + "/meetings",
    status_code=status.HTTP_201_CREATED,
    response_model=MeetingRead,
    summary="Schedule a meeting with decision-makers at an advocacy day; attendees are e-mailed the schedule",
)
async def schedule_meeting(
    campaign_id: UUID, body: MeetingIn, principal: CurrentPrincipal, service: ServiceDep
) -> MeetingRead:
    doc = await service.schedule_meeting(principal=principal, campaign_id=campaign_id, meeting=body)
    _, people = await service.meetings(principal=principal, campaign_id=campaign_id)
    return meeting_read(doc, people)


@router.get(
    CAMPAIGN + "/meetings",
    response_model=list[MeetingRead],
    summary="The advocacy day's meetings (its managers)",
)
async def list_meetings(
    campaign_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> list[MeetingRead]:
    docs, people = await service.meetings(principal=principal, campaign_id=campaign_id)
    return [meeting_read(d, people) for d in docs]


@router.post(
    CAMPAIGN + "/meetings/{meeting_id}/report",
    response_model=MeetingRead,
    summary="Record a meeting's report-back as a manager (once, after the meeting started)",
)
async def report_meeting(
    campaign_id: UUID, meeting_id: UUID, body: ReportIn, principal: CurrentPrincipal, service: ServiceDep
) -> MeetingRead:
    doc = await service.report_meeting(
        principal=principal, campaign_id=campaign_id, meeting_id=meeting_id, report=body
    )
    _, people = await service.meetings(principal=principal, campaign_id=campaign_id)
    return meeting_read(doc, people)


def _public_meeting(title: str, doc: Document) -> PublicMeeting:
    return PublicMeeting(
        campaign_title=title,
        starts_at=doc["starts_at"],
        ends_at=doc["ends_at"],
        time_zone=doc["time_zone"],
        place=doc.get("place"),
        online_url=doc.get("online_url"),
        targets=[MeetingTarget.model_validate(t) for t in doc["targets"]],
        outcomes=list(MeetingOutcome),
        reported=doc.get("report") is not None,
    )


@public_router.get(
    "/meeting-reports",
    response_model=PublicMeeting,
    responses={404: {"description": "No meeting has this report-back link"}},
    summary="The meeting an attendee's report-back link is for (the link e-mailed with the schedule)",
)
async def public_meeting(report_token: ReportTokenQuery, service: ServiceDep) -> PublicMeeting:
    campaign, doc = await service.meeting_by_token(report_token)
    return _public_meeting(campaign.title, doc)


@public_router.post(
    "/meeting-reports",
    response_model=PublicMeeting,
    responses={
        404: {"description": "No meeting has this report-back link"},
        409: {"description": "Already reported, or the meeting has not started yet"},
    },
    summary="Record the meeting's report-back as an attendee, with the token of the e-mailed link",
)
async def report_as_attendee(body: AttendeeReport, service: ServiceDep) -> PublicMeeting:
    report = ReportIn.model_validate(body.model_dump(exclude={"report_token"}))
    doc = await service.report_by_attendee(token=body.report_token, report=report)
    campaign, _ = await service.meeting_by_token(body.report_token)
    return _public_meeting(campaign.title, doc)


# ---- outcome goals ---------------------------------------------------------------------------------


def goal_read(goal: OutcomeGoal, measurements: list[Document] | None = None) -> OutcomeGoalRead:
    return OutcomeGoalRead(
        id=goal.id,
        campaign_id=goal.campaign_id,
        coalition_id=goal.coalition_id,
        indicator=goal.indicator,
        unit=goal.unit,
        baseline=goal.baseline,
        target=goal.target,
        direction=goal.direction,
        deadline=goal.deadline,
        data_source=goal.data_source,
        latest_value=goal.latest_value,
        latest_on=goal.latest_on,
        percent=goal.percent(goal.latest_value),
        milestones=[MilestoneReached.model_validate(m) for m in goal.milestones],
        verdict=goal.verdict,
        statement=goal.statement,
        judged_at=goal.judged_at,
        measurements=[measurement_read(goal, m) for m in measurements or []],
        created_at=goal.created_at,
    )


def measurement_read(goal: OutcomeGoal, doc: Document) -> MeasurementRead:
    return MeasurementRead(
        id=doc["_id"],
        measured_on=date.fromisoformat(doc["measured_on"]),
        value=doc["value"],
        percent=goal.percent(doc["value"]),
        source=doc.get("source"),
        evidence_url=doc.get("evidence_url"),
        note=doc.get("note"),
        recorded_at=doc["recorded_at"],
    )


async def campaign_goal_owner(campaign_id: UUID) -> GoalOwner:
    return GoalOwner(campaign_id=campaign_id)


async def coalition_goal_owner(coalition_id: UUID) -> GoalOwner:
    return GoalOwner(coalition_id=coalition_id)


def _outcome_goal_routes(
    prefix: str,
    owner_of: Callable[..., Awaitable[GoalOwner]],
    whose: str,
    summaries: tuple[str, str, str, str],
) -> None:
    """The four outcome-goal routes of a campaign's or a coalition's goals: set, list, measure, judge.

    `owner_of` reads the owner from the path; `whose` ("campaign" or "coalition") names the handlers
    (and so the OpenAPI operations).
    """
    # A default rather than an Annotated alias: annotations here are strings, resolved in module scope.
    owned = Depends(owner_of)
    goals = prefix + "/outcome-goals"
    create_summary, list_summary, measure_summary, judge_summary = summaries

    async def create(
        *, owner: GoalOwner = owned, body: OutcomeGoalIn, principal: CurrentPrincipal, service: ServiceDep
    ) -> OutcomeGoalRead:
        return goal_read(await service.create_outcome_goal(principal=principal, owner=owner, new=body))

    async def listed(
        *, owner: GoalOwner = owned, principal: CurrentPrincipal, service: ServiceDep
    ) -> OutcomeGoalList:
        found, measured = await service.outcome_goals(principal=principal, owner=owner)
        return OutcomeGoalList(
            campaign_id=owner.campaign_id,
            coalition_id=owner.coalition_id,
            items=[goal_read(g, measured[g.id]) for g in found],
        )

    async def measure(
        *,
        owner: GoalOwner = owned,
        goal_id: UUID,
        body: MeasurementIn,
        principal: CurrentPrincipal,
        service: ServiceDep,
    ) -> MeasurementRead:
        goal, doc = await service.record_measurement(
            principal=principal, owner=owner, goal_id=goal_id, measurement=body
        )
        return measurement_read(goal, doc)

    async def judge(
        *,
        owner: GoalOwner = owned,
        goal_id: UUID,
        body: VerdictIn,
        principal: CurrentPrincipal,
        service: ServiceDep,
    ) -> OutcomeGoalRead:
        goal = await service.judge_outcome(principal=principal, owner=owner, goal_id=goal_id, verdict=body)
        return goal_read(goal)

    create.__name__ = f"create_{whose}_outcome_goal"
    listed.__name__ = f"{whose}_outcome_goals"
    measure.__name__ = f"measure_{whose}_outcome"
    judge.__name__ = f"judge_{whose}_outcome"
    created = status.HTTP_201_CREATED
    router.post(goals, status_code=created, response_model=OutcomeGoalRead, summary=create_summary)(create)
    router.get(goals, response_model=OutcomeGoalList, summary=list_summary)(listed)
    router.post(
        goals + "/{goal_id}/measurements",
        status_code=created,
        response_model=MeasurementRead,
        summary=measure_summary,
    )(measure)
    router.post(goals + "/{goal_id}/verdict", response_model=OutcomeGoalRead, summary=judge_summary)(judge)


_outcome_goal_routes(
    CAMPAIGN,
    campaign_goal_owner,
    "campaign",
    (
        "Set an outcome goal: an indicator measured outside the platform (managers)",
        "The campaign's outcome goals with their measurements and progress",
        "Record a measurement of an outcome goal's indicator (managers)",
        "Mark an outcome goal achieved, partly achieved or missed once its deadline passed (managers)",
    ),
)
_outcome_goal_routes(
    COALITION,
    coalition_goal_owner,
    "coalition",
    (
        "Set a coalition's outcome goal (organizers of its lead organizations)",
        "The coalition's outcome goals with their measurements (its active and suspended members)",
        "Record a measurement of a coalition's outcome goal",
        "Mark a coalition's outcome goal achieved, partly achieved or missed after its deadline",
    ),
)


# ---- disclosures -----------------------------------------------------------------------------------


@router.put(
    CAMPAIGN + "/conflicts-of-interest",
    response_model=ConflictsRead,
    summary="State the organization's conflicts of interest for this campaign (its organizers; owner or adopter)",
)
async def declare_conflicts(
    campaign_id: UUID, body: ConflictsIn, principal: CurrentPrincipal, service: ServiceDep
) -> ConflictsRead:
    doc = await service.declare_conflicts(principal=principal, campaign_id=campaign_id, body=body)
    return ConflictsRead.model_validate(doc)


@router.get(
    CAMPAIGN + "/disclosures",
    response_model=DisclosuresRead,
    summary="Funding disclosures and conflicts of interest of the organizations taking part",
)
async def campaign_disclosures(
    campaign_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> DisclosuresRead:
    organizations = await service.campaign_disclosures(principal=principal, campaign_id=campaign_id)
    return DisclosuresRead(campaign_id=campaign_id, organizations=organizations)


# ---- impact reports --------------------------------------------------------------------------------


def _impact_report_routes(
    prefix: str, owner_of: Callable[..., Awaitable[GoalOwner]], whose: str, summaries: tuple[str, str]
) -> None:
    """The impact report of a campaign or a coalition, as a page and as a PDF (`owner_of` reads whose
    from the path, as for outcome goals)."""
    owned = Depends(owner_of)
    html_summary, pdf_summary = summaries

    async def load(service: CampaignService, principal: Principal, owner: GoalOwner) -> ImpactReport:
        if owner.campaign_id is not None:
            return await service.campaign_report(principal=principal, campaign_id=owner.campaign_id)
        assert owner.coalition_id is not None
        return await service.coalition_report(principal=principal, coalition_id=owner.coalition_id)

    async def as_html(
        *, owner: GoalOwner = owned, principal: CurrentPrincipal, service: ServiceDep
    ) -> HTMLResponse:
        report = await load(service, principal, owner)
        return HTMLResponse(await service.html(report), headers=NO_STORE)

    async def as_pdf(
        *, owner: GoalOwner = owned, principal: CurrentPrincipal, service: ServiceDep
    ) -> Response:
        report = await load(service, principal, owner)
        return Response(
            await service.pdf(report),
            media_type="application/pdf",
            headers={
                **NO_STORE,
                "Content-Disposition": f'attachment; filename="impact-{owner.campaign_id or owner.coalition_id}.pdf"',
            },
        )

    as_html.__name__ = f"{whose}_report_html"
    as_pdf.__name__ = f"{whose}_report_pdf"
    report = prefix + "/impact-report"
    router.get(report, response_class=HTMLResponse, responses=HTML_RESPONSE, summary=html_summary)(as_html)
    router.get(report + ".pdf", response_class=Response, responses=PDF_RESPONSE, summary=pdf_summary)(as_pdf)


_impact_report_routes(
    CAMPAIGN,
    campaign_goal_owner,
    "campaign",
    (
        "The campaign's impact report as a page, with charts (its managers)",
        "The campaign's impact report as a PDF (its managers)",
    ),
)
_impact_report_routes(
    COALITION,
    coalition_goal_owner,
    "coalition",
    (
        "The coalition's impact report (organizers of its lead organizations)",
        "The coalition's impact report as a PDF",
    ),
)


@router.put(
    CAMPAIGN + "/impact-report/publication",
    response_model=PublicationRead,
    summary="Publish (or withdraw) the public impact report on the campaign's public links (managers)",
)
async def publish_report(
    campaign_id: UUID, body: Publication, principal: CurrentPrincipal, service: ServiceDep
) -> PublicationRead:
    published = await service.publish_report(
        principal=principal, campaign_id=campaign_id, published=body.published
    )
    return PublicationRead(
        campaign_id=campaign_id, published=published, public_path="/v1/public/links/{ref}/impact-report"
    )


@public_router.get(
    "/links/{ref}/impact-report",
    response_class=HTMLResponse,
    responses={**HTML_RESPONSE, 404: {"description": "No such link, or the report is not published"}},
    summary="The campaign's public impact report (no personal data), when its managers published it",
)
async def public_report(ref: Ref, service: ServiceDep) -> HTMLResponse:
    report = await service.public_report(ref)
    return HTMLResponse(await service.html(report))
