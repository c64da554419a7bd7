"""Public routes for supporters (no account): a campaign's page by link, actions, consent, erasure.

Every action endpoint takes an optional `Idempotency-Key` header: a retried request with the same key
and body returns the first result. One supporter (by normalised e-mail) counts once per campaign and
action kind; a repeat returns the existing action with 200 and `already_recorded: true`.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from fastapi.responses import JSONResponse

from campaigns.api.ratelimit import limit_public
from campaigns.api.routes import ServiceDep, consent_texts, progress
from campaigns.api.schemas import (
    ActionOut,
    ActionRead,
    CheckinIn,
    ConsentRead,
    ConsentWithdrawal,
    LetterIn,
    PublicCampaign,
    PublicStory,
    PublicStoryPage,
    RsvpIn,
    ShareIn,
    SignatureIn,
    StoryIn,
    SupporterSelf,
    TokenIn,
)
from campaigns.domain.campaigns import ActionKind, CampaignStatus
from campaigns.domain.supporters import ConsentPurpose
from campaigns.service import ActionInput, Recorded, SupporterInput
from common.paging import decode_cursor, next_cursor

router = APIRouter(prefix="/v1/public", tags=["public"], dependencies=[Depends(limit_public)])

Ref = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,32}$", description="An organization's link code")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,255}$",
        description="Any unique string per intended action; a retry with the same key returns the first result",
    ),
]
ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ActionOut, "description": "Already recorded for this supporter, or an idempotent replay"},
    409: {"description": "The campaign is not taking this action (not active, closed, full, link withdrawn)"},
    429: {"description": "Too many requests from this address (see Retry-After)"},
}
SUPPORTER_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "The supporter token is not valid"},
    404: {"description": "No supporter has this token"},
    410: {"description": "This supporter's data was erased"},
}


@router.get(
    "/links/{ref}", response_model=PublicCampaign, summary="The campaign behind an organization's link"
)
async def public_campaign(ref: Ref, service: ServiceDep) -> PublicCampaign:
    link, campaign, stats = await service.public_link(ref)
    return PublicCampaign(
        campaign_id=campaign.id,
        ref=ref,
        organization_id=link.org_id,
        kind=campaign.kind,
        title=campaign.title,
        summary=campaign.summary,
        details=campaign.details,
        status=campaign.status,
        accepts=list(campaign.action_kinds)
        if campaign.status is CampaignStatus.ACTIVE and link.state == "active"
        else [],
        close_at=campaign.close_at,
        goal=progress(campaign.goal, stats["counts"], stats["unique_supporters"]),
        counts=stats["counts"],
        consent_texts=consent_texts(campaign),
        disclosures=await service.public_disclosures(campaign, link.org_id),
    )


async def _act(
    service: Any, ref: str, kind: ActionKind, body: Any, key: str | None, **extra: Any
) -> JSONResponse:
    s = body.supporter
    action = ActionInput(
        kind=kind,
        supporter=SupporterInput(
            email=str(s.email),
            first_name=s.first_name,
            last_name=s.last_name,
            postal_code=s.postal_code,
            country=s.country,
        ),
        consents=dict(body.consents),
        **extra,
    )
    recorded: Recorded = await service.record_action(ref=ref, action=action, idempotency_key=key)
    body = ActionOut(
        action=ActionRead(
            id=recorded.action.id,
            campaign_id=recorded.action.campaign_id,
            kind=ActionKind(recorded.action.kind),
            organization_id=recorded.action.org_id,
            created_at=recorded.action.created_at,
        ),
        already_recorded=recorded.already_recorded,
        replayed=recorded.replayed,
        supporter_token=recorded.supporter_token,
    )
    status_code = 200 if recorded.already_recorded else 201
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)


@router.post(
    "/links/{ref}/signatures",
    status_code=201,
    response_model=ActionOut,
    responses=ACTION_RESPONSES,
    summary="Sign a petition",
)
async def sign(ref: Ref, body: SignatureIn, service: ServiceDep, key: IdempotencyKey = None) -> JSONResponse:
    return await _act(service, ref, ActionKind.SIGNATURE, body, key)


@router.post(
    "/links/{ref}/letters",
    status_code=201,
    response_model=ActionOut,
    responses=ACTION_RESPONSES,
    summary="Send the letter (personalised if the campaign allows it)",
)
async def send_letter(
    ref: Ref, body: LetterIn, service: ServiceDep, key: IdempotencyKey = None
) -> JSONResponse:
    details = {k: v for k, v in {"subject": body.subject, "body": body.body}.items() if v is not None}
    return await _act(service, ref, ActionKind.LETTER, body, key, details=details)


@router.post(
    "/links/{ref}/rsvps",
    status_code=201,
    response_model=ActionOut,
    responses=ACTION_RESPONSES,
    summary="RSVP to an event",
)
async def rsvp(ref: Ref, body: RsvpIn, service: ServiceDep, key: IdempotencyKey = None) -> JSONResponse:
    return await _act(service, ref, ActionKind.RSVP, body, key)


@router.post(
    "/links/{ref}/checkins",
    status_code=201,
    response_model=ActionOut,
    responses=ACTION_RESPONSES,
    summary="Check in at an event",
)
async def check_in(
    ref: Ref, body: CheckinIn, service: ServiceDep, key: IdempotencyKey = None
) -> JSONResponse:
    return await _act(service, ref, ActionKind.CHECKIN, body, key)


@router.post(
    "/links/{ref}/stories",
    status_code=201,
    response_model=ActionOut,
    responses=ACTION_RESPONSES,
    summary="Submit a story (moderated before it is published, and only with consent to publication)",
)
async def submit_story(
    ref: Ref, body: StoryIn, service: ServiceDep, key: IdempotencyKey = None
) -> JSONResponse:
    story = {"title": body.title, "body": body.body, "name_form": body.name_form.value}
    return await _act(service, ref, ActionKind.STORY, body, key, story=story)


@router.post(
    "/links/{ref}/shares",
    status_code=201,
    response_model=ActionOut,
    responses=ACTION_RESPONSES,
    summary="Record a share",
)
async def share(ref: Ref, body: ShareIn, service: ServiceDep, key: IdempotencyKey = None) -> JSONResponse:
    return await _act(service, ref, ActionKind.SHARE, body, key, details={"platform": body.platform})


@router.get(
    "/campaigns/{campaign_id}/stories",
    response_model=PublicStoryPage,
    summary="Published stories: the name as the supporter chose, never contact details",
)
async def published_stories(
    campaign_id: UUID,
    service: ServiceDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PublicStoryPage:
    docs = await service.published_stories(campaign_id=campaign_id, after=decode_cursor(cursor), limit=limit)
    return PublicStoryPage(
        items=[
            PublicStory(
                id=d["_id"],
                organization_id=d["org_id"],
                title=d["title"],
                body=d["body"],
                display_name=d["display_name"],
                published_at=d["published_at"],
            )
            for d in docs
        ],
        next_cursor=next_cursor([d["_id"] for d in docs], limit),
    )


def _self(doc: dict[str, Any]) -> SupporterSelf:
    return SupporterSelf(
        id=doc["_id"],
        campaign_id=doc["campaign_id"],
        email=doc["email"],
        first_name=doc["first_name"],
        last_name=doc.get("last_name"),
        postal_code=doc.get("postal_code"),
        country=doc.get("country"),
        consents=[
            ConsentRead(purpose=ConsentPurpose(p), version=c["version"], given_at=c["given_at"])
            for p, c in sorted(doc.get("consents", {}).items())
        ],
        created_at=doc["created_at"],
    )


@router.post(
    "/supporter",
    response_model=SupporterSelf,
    responses=SUPPORTER_TOKEN_RESPONSES,
    summary="What is held about me (with my supporter token)",
)
async def my_data(body: TokenIn, service: ServiceDep) -> SupporterSelf:
    return _self(await service.supporter_by_token(body.token))


@router.post(
    "/supporter/consent-withdrawals",
    response_model=SupporterSelf,
    responses=SUPPORTER_TOKEN_RESPONSES,
    summary="Withdraw consent for one or more purposes (with my supporter token)",
)
async def withdraw_consent(body: ConsentWithdrawal, service: ServiceDep) -> SupporterSelf:
    return _self(await service.withdraw_consent(token=body.token, purposes=body.purposes))


@router.post(
    "/supporter/erasure",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=SUPPORTER_TOKEN_RESPONSES,
    summary="Erase my personal data (with my supporter token); my actions stay counted, anonymously",
)
async def erase_me(body: TokenIn, service: ServiceDep) -> Response:
    await service.erase_by_token(token=body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
