"""Routes for organizations: campaigns, adoption, statistics, contacts, stories, erasure."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from campaigns.api.schemas import (
    Adoption,
    CampaignCreate,
    CampaignPage,
    CampaignRead,
    CampaignUpdate,
    ConsentTextRead,
    Day,
    GoalRead,
    LinkRead,
    MilestoneRead,
    Moderation,
    OrganizationContribution,
    Progress,
    StatsRead,
    StoryPage,
    StoryRead,
    SupporterPage,
    SupporterRead,
    TranslationRead,
)
from campaigns.domain.campaigns import Campaign, CampaignKind, Goal, Transition
from campaigns.domain.supporters import ConsentPurpose
from campaigns.service import CampaignService, NewCampaign
from common.auth import CurrentPrincipal
from common.mongo import Document
from common.paging import decode_cursor, next_cursor

router = APIRouter(prefix="/v1", tags=["campaigns"])

STORY_STATUSES = ("submitted", "approved", "rejected", "published", "withdrawn", "erased")


async def get_service(request: Request) -> CampaignService:
    service: CampaignService = request.app.state.campaigns
    return service


ServiceDep = Annotated[CampaignService, Depends(get_service)]


def campaign_read(campaign: Campaign) -> CampaignRead:
    return CampaignRead(
        id=campaign.id,
        kind=campaign.kind,
        title=campaign.title,
        summary=campaign.summary,
        details=campaign.details,
        goal=GoalRead.model_validate(campaign.goal.model_dump()),
        owner_organization_id=campaign.owner_org_id,
        coalition_id=campaign.coalition_id,
        status=campaign.status,
        launch_at=campaign.launch_at,
        close_at=campaign.close_at,
        consent_texts=consent_texts(campaign),
        double_opt_in=campaign.double_opt_in,
        default_language=campaign.default_language,
        translations={
            lang: TranslationRead(
                title=t.get("title"),
                summary=t.get("summary"),
                details=t.get("details", {}),
                consent_texts=consent_list(campaign.consent_translations.get(lang, {})),
            )
            for lang, t in sorted(campaign.translations.items())
        },
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def consent_texts(campaign: Campaign) -> list[ConsentTextRead]:
    return consent_list(campaign.consent_texts)


def consent_list(texts: dict[str, dict[str, str]]) -> list[ConsentTextRead]:
    return [
        ConsentTextRead(purpose=ConsentPurpose(p), version=t["version"], text=t["text"])
        for p, t in sorted(texts.items())
    ]


def progress(goal: Goal, counts: dict[str, int], unique_supporters: int) -> Progress:
    value = goal.value(counts, unique_supporters)
    return Progress(**goal.model_dump(), value=value, percent=goal.percent(value))


def link_read(request: Request, doc: Document) -> LinkRead:
    settings = request.app.state.settings
    return LinkRead(
        ref=doc["_id"],
        organization_id=doc["org_id"],
        role=doc["role"],
        state=doc["state"],
        action_url=f"{settings.pages_url}/p/{doc['_id']}",
        api_url=f"{settings.base_url}/v1/public/links/{doc['_id']}",
        created_at=doc["created_at"],
    )


@router.post(
    "/campaigns",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignRead,
    summary="Draft a campaign for an organization, or for a coalition as one of its lead organizations",
)
async def create_campaign(
    body: CampaignCreate, principal: CurrentPrincipal, service: ServiceDep
) -> CampaignRead:
    new = NewCampaign(
        organization_id=body.organization_id,
        coalition_id=body.coalition_id,
        kind=CampaignKind(body.kind),
        title=body.title,
        summary=body.summary,
        details=body.details.model_dump(mode="json"),
        goal=Goal.model_validate(body.goal.model_dump()),
        launch_at=body.launch_at,
        close_at=body.close_at,
        consent_texts=dict(body.consent_texts),
        double_opt_in=body.double_opt_in,
        default_language=body.default_language,
        translations={
            lang: t.model_dump(mode="json", exclude_none=True) for lang, t in body.translations.items()
        },
    )
    return campaign_read(await service.create_campaign(principal=principal, new=new))


@router.get(
    "/campaigns",
    response_model=CampaignPage,
    summary="Campaigns an organization owns or that its coalitions run",
)
async def list_campaigns(
    principal: CurrentPrincipal,
    service: ServiceDep,
    organization_id: UUID,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> CampaignPage:
    items = await service.list_campaigns(
        principal=principal, organization_id=organization_id, after=decode_cursor(cursor), limit=limit
    )
    return CampaignPage(
        items=[campaign_read(c) for c in items], next_cursor=next_cursor([c.id for c in items], limit)
    )


@router.get(
    "/campaigns/{campaign_id}", response_model=CampaignRead, summary="A campaign (its coalition or owner)"
)
async def read_campaign(campaign_id: UUID, principal: CurrentPrincipal, service: ServiceDep) -> CampaignRead:
    return campaign_read((await service.standing(principal=principal, campaign_id=campaign_id)).campaign)


@router.patch("/campaigns/{campaign_id}", response_model=CampaignRead, summary="Edit (its managers)")
async def update_campaign(
    campaign_id: UUID, body: CampaignUpdate, principal: CurrentPrincipal, service: ServiceDep
) -> CampaignRead:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if body.goal is not None:
        changes["goal"] = body.goal.model_dump()
    if body.translations is not None:
        changes["translations"] = {
            lang: t.model_dump(mode="json", exclude_none=True) for lang, t in body.translations.items()
        }
    return campaign_read(
        await service.update_campaign(principal=principal, campaign_id=campaign_id, changes=changes)
    )


def _transition_route(transition: Transition, summary: str) -> None:
    async def move(campaign_id: UUID, principal: CurrentPrincipal, service: ServiceDep) -> CampaignRead:
        return campaign_read(
            await service.transition(principal=principal, campaign_id=campaign_id, transition=transition)
        )

    move.__name__ = f"{transition.value}_campaign"
    router.post(
        f"/campaigns/{{campaign_id}}/{transition.value}", response_model=CampaignRead, summary=summary
    )(move)


_transition_route(Transition.LAUNCH, "Launch a draft: it starts taking actions")
_transition_route(Transition.PAUSE, "Pause an active campaign")
_transition_route(Transition.RESUME, "Resume a paused campaign")
_transition_route(Transition.CLOSE, "Close: no more actions")
_transition_route(Transition.ARCHIVE, "Archive a draft or a closed campaign")


@router.get(
    "/campaigns/{campaign_id}/links", response_model=list[LinkRead], summary="Owner's and adopters' links"
)
async def list_links(
    request: Request, campaign_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> list[LinkRead]:
    _, links = await service.links(principal=principal, campaign_id=campaign_id)
    return [link_read(request, d) for d in links]


@router.post(
    "/campaigns/{campaign_id}/adoptions",
    response_model=LinkRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": LinkRead, "description": "Already adopted: the existing link"}},
    summary="Adopt a coalition campaign as a member organization: returns its own public action link",
)
async def adopt(
    request: Request,
    response: Response,
    campaign_id: UUID,
    body: Adoption,
    principal: CurrentPrincipal,
    service: ServiceDep,
) -> LinkRead:
    link, created = await service.adopt(
        principal=principal, campaign_id=campaign_id, organization_id=body.organization_id
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return link_read(request, link)


@router.delete(
    "/campaigns/{campaign_id}/adoptions/{organization_id}",
    response_model=LinkRead,
    summary="Withdraw an adoption; the organization's past contributions stay in the totals",
)
async def withdraw_adoption(
    request: Request,
    campaign_id: UUID,
    organization_id: UUID,
    principal: CurrentPrincipal,
    service: ServiceDep,
) -> LinkRead:
    link = await service.withdraw_adoption(
        principal=principal, campaign_id=campaign_id, organization_id=organization_id
    )
    return link_read(request, link)


@router.get(
    "/campaigns/{campaign_id}/stats",
    response_model=StatsRead,
    summary="Totals per kind, per organization and per day, goal progress and milestones",
)
async def statistics(campaign_id: UUID, principal: CurrentPrincipal, service: ServiceDep) -> StatsRead:
    campaign, stats = await service.statistics(principal=principal, campaign_id=campaign_id)
    orgs = sorted(set(stats["by_org"]) | set(stats["supporters_by_org"]))
    return StatsRead(
        campaign_id=campaign.id,
        status=campaign.status,
        counts=stats["counts"],
        unique_supporters=stats["unique_supporters"],
        by_organization=[
            OrganizationContribution(
                organization_id=UUID(o),
                counts=stats["by_org"].get(o, {}),
                unique_supporters=stats["supporters_by_org"].get(o, 0),
            )
            for o in orgs
        ],
        daily=[Day(date=d, counts=c) for d, c in sorted(stats["daily"].items())],
        goal=progress(campaign.goal, stats["counts"], stats["unique_supporters"]),
        milestones=[MilestoneRead.model_validate(m) for m in stats["milestones"]],
    )


def _supporter(doc: Document, viewer: UUID) -> SupporterRead:
    return SupporterRead(
        id=doc["_id"],
        organization_id=doc["org_id"],
        email=doc["email"],
        first_name=doc["first_name"],
        last_name=doc.get("last_name"),
        postal_code=doc.get("postal_code"),
        country=doc.get("country"),
        consents=sorted(ConsentPurpose(p) for p in doc.get("consents", {})),
        shared_by_coalition=doc["org_id"] != viewer,
        created_at=doc["created_at"],
    )


@router.get(
    "/campaigns/{campaign_id}/supporters",
    response_model=SupporterPage,
    summary="Supporters whose contact details the organization may see (its organizers)",
)
async def supporters(
    campaign_id: UUID,
    principal: CurrentPrincipal,
    service: ServiceDep,
    organization_id: UUID,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SupporterPage:
    docs = await service.contacts(
        principal=principal,
        campaign_id=campaign_id,
        organization_id=organization_id,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return SupporterPage(
        items=[_supporter(d, organization_id) for d in docs],
        next_cursor=next_cursor([d["_id"] for d in docs], limit),
    )


CSV_COLUMNS = (
    "supporter_id",
    "email",
    "first_name",
    "last_name",
    "postal_code",
    "country",
    "consents",
    "since",
)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get(
    "/campaigns/{campaign_id}/supporters.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The organization's own consented supporters"}
    },
    summary="CSV export of the organization's own supporters who consented to be contacted by it",
)
async def export_supporters(
    campaign_id: UUID, principal: CurrentPrincipal, service: ServiceDep, organization_id: UUID
) -> Response:
    docs = await service.contacts(
        principal=principal, campaign_id=campaign_id, organization_id=organization_id, own_only=True
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in docs:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    d["_id"],
                    d["email"],
                    d["first_name"],
                    d.get("last_name"),
                    d.get("postal_code"),
                    d.get("country"),
                    " ".join(sorted(d.get("consents", {}))),
                    d["created_at"].isoformat(),
                )
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="supporters-{campaign_id}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _story(doc: Document) -> StoryRead:
    return StoryRead(
        id=doc["_id"],
        organization_id=doc["org_id"],
        title=doc["title"],
        body=doc["body"],
        name_form=doc["name_form"],
        status=doc["status"],
        submitted_at=doc["submitted_at"],
        moderated_at=doc.get("moderated_at"),
        reason=doc.get("reason"),
        published_at=doc.get("published_at"),
    )


@router.get(
    "/campaigns/{campaign_id}/stories", response_model=StoryPage, summary="Stories to moderate (managers)"
)
async def stories(
    campaign_id: UUID,
    principal: CurrentPrincipal,
    service: ServiceDep,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> StoryPage:
    wanted = status_ or ["submitted"]
    bad = [s for s in wanted if s not in STORY_STATUSES]
    if bad:
        from common.errors import InvalidInput

        raise InvalidInput(f"unknown story status: {bad[0][:40]}", field="status", known=list(STORY_STATUSES))
    docs = await service.stories(
        principal=principal,
        campaign_id=campaign_id,
        statuses=wanted,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return StoryPage(
        items=[_story(d) for d in docs], next_cursor=next_cursor([d["_id"] for d in docs], limit)
    )


def _moderation_route(decision: str, summary: str) -> None:
    async def moderate(
        campaign_id: UUID,
        story_id: UUID,
        principal: CurrentPrincipal,
        service: ServiceDep,
        body: Moderation | None = None,
    ) -> StoryRead:
        doc = await service.moderate(
            principal=principal,
            campaign_id=campaign_id,
            story_id=story_id,
            decision=decision,
            reason=body.reason if body else None,
        )
        return _story(doc)

    moderate.__name__ = f"{decision}_story"
    router.post(
        f"/campaigns/{{campaign_id}}/stories/{{story_id}}/{decision}",
        response_model=StoryRead,
        summary=summary,
    )(moderate)


_moderation_route("approve", "Approve a submitted story")
_moderation_route("reject", "Reject a story")
_moderation_route("publish", "Publish an approved story (needs the supporter's consent to publication)")
_moderation_route("unpublish", "Take a published story down (back to approved)")


@router.delete(
    "/organizations/{organization_id}/supporters/{supporter_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase one of the organization's supporters (admins): personal data goes, totals stay",
)
async def erase_supporter(
    organization_id: UUID, supporter_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> Response:
    await service.erase_by_organization(
        principal=principal, organization_id=organization_id, supporter_id=supporter_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
