"""Public routes for supporters (no account): a campaign's page by link, actions, consent, erasure.

Every action endpoint takes an optional `Idempotency-Key` header: a retried request with the same key
and body returns the first result. One supporter (by normalised e-mail) counts once per campaign and
action kind; a repeat returns the existing action with 200 and `already_recorded: true`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from campaigns.api.ratelimit import limit_public
from campaigns.api.routes import ServiceDep, consent_list, progress
from campaigns.api.schemas import (
    ActionOut,
    ActionRead,
    ChallengeOut,
    CheckinIn,
    ConfirmationIn,
    ConfirmationOut,
    ConsentRead,
    ConsentWithdrawal,
    LetterIn,
    PublicCampaign,
    PublicOrganization,
    PublicParty,
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
from campaigns.repository import ActionRecord
from campaigns.service import ActionInput, Confirmed, PublicPage, Recorded, SupporterInput
from common.contracts.campaigns import OrganizationDisclosure
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
    202: {
        "model": ActionOut,
        "description": "Held until the supporter confirms it by the link e-mailed to them (double opt-in)",
    },
    400: {"description": "No valid solved proof-of-work (`challenge-failed`), or a filled honeypot field"},
    409: {
        "description": "The campaign is not taking this action (not active, closed, full, link withdrawn), "
        "or the proof-of-work was used before (`challenge-used`)"
    },
    429: {"description": "Too many requests from this address (see Retry-After)"},
}
SUPPORTER_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "The supporter token is not valid"},
    404: {"description": "No supporter has this token"},
    410: {"description": "This supporter's data was erased"},
}


Lang = Annotated[
    str | None,
    Query(
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$",
        description="Language wanted (en, fr, es, pt, de); the campaign's default language when it has no "
        "texts in it, field by field",
    ),
]


def public_campaign_of(
    page: PublicPage, challenge_required: bool, disclosures: Sequence[OrganizationDisclosure] = ()
) -> PublicCampaign:
    """The public view of a link's page (also what the hosted pages render), with the funding
    disclosures of the owner and of the organization whose link it is."""
    link, campaign, stats, texts = page.link, page.campaign, page.stats, page.texts
    org = page.organization
    return PublicCampaign(
        campaign_id=campaign.id,
        ref=link.ref,
        organization_id=link.org_id,
        organization=PublicOrganization(
            id=org.id, name=org.name, logo_url=org.logo_url, privacy_notice_url=org.privacy_notice_url
        ),
        owner=PublicParty(id=page.owner.id, name=page.owner.name),
        coalition=PublicParty(id=page.coalition.id, name=page.coalition.name) if page.coalition else None,
        language=texts.language,
        default_language=campaign.default_language,
        languages=sorted({campaign.default_language, *campaign.translations}),
        double_opt_in=campaign.double_opt_in,
        challenge_required=challenge_required,
        kind=campaign.kind,
        title=texts.title,
        summary=texts.summary,
        details=texts.details,
        status=campaign.status,
        accepts=list(campaign.action_kinds)
        if campaign.status is CampaignStatus.ACTIVE and link.state == "active"
        else [],
        close_at=campaign.close_at,
        goal=progress(campaign.goal, stats["counts"], stats["unique_supporters"]),
        counts=stats["counts"],
        unique_supporters=stats["unique_supporters"],
        consent_texts=consent_list(texts.consent_texts),
        disclosures=list(disclosures),
    )


@router.get(
    "/links/{ref}", response_model=PublicCampaign, summary="The campaign behind an organization's link"
)
async def public_campaign(
    request: Request, ref: Ref, service: ServiceDep, lang: Lang = None
) -> PublicCampaign:
    page = await service.public_page(ref, lang)
    disclosures = await service.public_disclosures(page.campaign, page.link.org_id)
    return public_campaign_of(page, request.app.state.settings.public_challenge_required, disclosures)


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
        language=body.language,
        **extra,
    )
    recorded: Recorded = await service.record_action(
        ref=ref, action=action, idempotency_key=key, altcha=body.altcha, honeypot=body.website
    )
    return action_response(recorded)


def action_read(action: ActionRecord) -> ActionRead:
    return ActionRead(
        id=action.id,
        campaign_id=action.campaign_id,
        kind=ActionKind(action.kind),
        organization_id=action.org_id,
        created_at=action.created_at,
    )


def action_response(recorded: Recorded) -> JSONResponse:
    """201 recorded, 202 held for confirmation (double opt-in), 200 already recorded."""
    if recorded.already_recorded:
        status, status_code = "already_recorded", 200
    elif recorded.pending:
        status, status_code = "pending_confirmation", 202
    else:
        status, status_code = "recorded", 201
    body = ActionOut(
        status=status,
        action=action_read(recorded.action),
        already_recorded=recorded.already_recorded,
        replayed=recorded.replayed,
        supporter_token=recorded.supporter_token,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)


@router.get(
    "/challenge",
    response_model=ChallengeOut,
    summary="A proof-of-work challenge (ALTCHA) to solve before posting an action",
)
async def challenge(service: ServiceDep) -> JSONResponse:
    issued = service.issue_challenge()
    body = ChallengeOut(
        algorithm=issued.algorithm,
        challenge=issued.challenge,
        maxnumber=issued.maxnumber,
        salt=issued.salt,
        signature=issued.signature,
    )
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})


@router.post(
    "/confirmations",
    response_model=ConfirmationOut,
    responses={
        404: {"description": "No action awaits this link"},
        409: {"description": "Already confirmed (`already-confirmed`), or the campaign no longer takes it"},
        410: {"description": "The link expired (the held action was erased)"},
    },
    summary="Confirm a held action with the token of the link e-mailed to the supporter (double opt-in)",
)
async def confirm(body: ConfirmationIn, service: ServiceDep) -> ConfirmationOut:
    confirmed: Confirmed = await service.confirm_action(body.token)
    return ConfirmationOut(
        status="confirmed",
        campaign_id=confirmed.campaign_id,
        link_ref=confirmed.link_ref,
        action=action_read(confirmed.action),
    )


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
