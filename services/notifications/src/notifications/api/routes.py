"""Routes: webhook endpoints and their operator API, the in-app feed, notice preferences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from common.auth import CurrentPrincipal
from common.mongo import Document
from common.paging import decode_cursor, next_cursor
from notifications.api.schemas import (
    AttemptRead,
    EndpointCreate,
    EndpointCreator,
    EndpointPage,
    EndpointRead,
    EndpointStats,
    EndpointUpdate,
    EndpointWithSecret,
    MarkedRead,
    MessagePage,
    MessageRead,
    NoticePage,
    NoticeRead,
    Preferences,
    PreferencesUpdate,
    Replay,
    Replayed,
    Rotation,
    SentMessagePage,
    SentMessageRead,
    UnreadCount,
)
from notifications.domain.notices import Category, Channel
from notifications.domain.review import creator_kind
from notifications.domain.webhooks import webhook_id
from notifications.notices import NoticeService
from notifications.sent import SentMessages
from notifications.service import EndpointSpec, WebhookService, active_secrets

router = APIRouter(prefix="/v1")


async def get_webhooks(request: Request) -> WebhookService:
    service: WebhookService = request.app.state.webhooks
    return service


async def get_notices(request: Request) -> NoticeService:
    service: NoticeService = request.app.state.notices
    return service


async def get_sent_messages(request: Request) -> SentMessages:
    service: SentMessages = request.app.state.sent_messages
    return service


Webhooks = Annotated[WebhookService, Depends(get_webhooks)]
Sent = Annotated[SentMessages, Depends(get_sent_messages)]
Notices = Annotated[NoticeService, Depends(get_notices)]
Limit = Annotated[int, Query(ge=1, le=100)]


def _endpoint(doc: Document) -> EndpointRead:
    return EndpointRead(
        id=doc["_id"],
        organization_id=doc["org_id"],
        url=doc["url"],
        event_types=doc["event_types"],
        coalition_ids=doc["coalition_ids"],
        campaign_ids=doc["campaign_ids"],
        description=doc["description"],
        enabled=doc["enabled"],
        disabled_reason=doc.get("disabled_reason"),
        rate_per_second=doc.get("rate_per_second"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        last_success_at=doc.get("last_success_at"),
        failing_since=doc.get("failing_since"),
        secret_count=len(active_secrets(doc, datetime.now(UTC))),
        **_creator_and_review(doc),
    )


def _creator_and_review(doc: Document) -> dict[str, Any]:
    kind = creator_kind(doc.get("created_by"), doc.get("created_by_kind"))
    review = doc.get("review") or {}
    return {
        "created_by": None
        if kind is None
        else EndpointCreator(kind=kind, id=doc["created_by"], organization_id=doc["org_id"]),
        "needs_review": bool(review),
        "review_reason": review.get("reason"),
        "review_since": review.get("since"),
    }


def _message(doc: Document) -> MessageRead:
    return MessageRead(
        id=doc["_id"],
        webhook_id=webhook_id(doc["_id"]),
        endpoint_id=doc["endpoint_id"],
        event_id=doc["event_id"],
        event_type=doc["event_type"],
        status=doc["status"],
        attempts=doc.get("attempt_count", 0),
        next_attempt_at=doc["next_attempt_at"] if doc["status"] == "pending" else None,
        last_status_code=doc.get("last_status_code"),
        last_error=doc.get("last_error"),
        created_at=doc["created_at"],
        payload=doc["payload"],
    )


def _notice(doc: Document) -> NoticeRead:
    return NoticeRead(
        id=doc["_id"],
        category=doc["category"],
        title=doc["title"],
        body=doc["body"],
        created_at=doc["created_at"],
        read_at=doc.get("read_at"),
    )


# ---- webhook endpoints ------------------------------------------------------------------------------
@router.post(
    "/organizations/{org_id}/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointWithSecret,
    tags=["webhooks"],
    summary="Register an endpoint (org owners/admins, or API clients with scope webhooks:manage)",
)
async def register_endpoint(
    org_id: UUID, body: EndpointCreate, principal: CurrentPrincipal, webhooks: Webhooks
) -> EndpointWithSecret:
    spec = EndpointSpec(
        url=body.url,
        event_types=body.event_types,
        coalition_ids=body.coalition_ids,
        campaign_ids=body.campaign_ids,
        description=body.description,
        enabled=body.enabled,
        rate_per_second=body.rate_per_second,
    )
    doc, secret = await webhooks.register(principal=principal, org_id=org_id, spec=spec)
    return EndpointWithSecret(**_endpoint(doc).model_dump(), secret=secret)


@router.get(
    "/organizations/{org_id}/webhooks", response_model=EndpointPage, tags=["webhooks"], summary="Endpoints"
)
async def list_endpoints(
    org_id: UUID,
    principal: CurrentPrincipal,
    webhooks: Webhooks,
    cursor: str | None = None,
    limit: Limit = 50,
) -> EndpointPage:
    docs = await webhooks.list_endpoints(
        principal=principal, org_id=org_id, after=decode_cursor(cursor), limit=limit
    )
    return EndpointPage(
        items=[_endpoint(d) for d in docs], next_cursor=next_cursor([d["_id"] for d in docs], limit)
    )


@router.get("/webhooks/{endpoint_id}", response_model=EndpointRead, tags=["webhooks"], summary="One endpoint")
async def read_endpoint(endpoint_id: UUID, principal: CurrentPrincipal, webhooks: Webhooks) -> EndpointRead:
    return _endpoint(await webhooks.endpoint_for(principal, endpoint_id))


@router.patch(
    "/webhooks/{endpoint_id}",
    response_model=EndpointRead,
    tags=["webhooks"],
    summary="Change an endpoint; `enabled: true` re-enables a disabled one",
)
async def update_endpoint(
    endpoint_id: UUID, body: EndpointUpdate, principal: CurrentPrincipal, webhooks: Webhooks
) -> EndpointRead:
    doc = await webhooks.update(principal=principal, endpoint_id=endpoint_id, changes=body.changes())
    return _endpoint(doc)


@router.delete(
    "/webhooks/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["webhooks"], summary="Delete"
)
async def delete_endpoint(endpoint_id: UUID, principal: CurrentPrincipal, webhooks: Webhooks) -> Response:
    await webhooks.delete(principal=principal, endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhooks/{endpoint_id}/secret/rotate",
    response_model=EndpointWithSecret,
    tags=["webhooks"],
    summary="New signing secret; the previous one keeps signing during the grace period",
)
async def rotate_secret(
    endpoint_id: UUID, principal: CurrentPrincipal, webhooks: Webhooks, body: Rotation | None = None
) -> EndpointWithSecret:
    doc, secret = await webhooks.rotate_secret(
        principal=principal, endpoint_id=endpoint_id, grace_seconds=body.grace_seconds if body else None
    )
    return EndpointWithSecret(**_endpoint(doc).model_dump(), secret=secret)


@router.post(
    "/webhooks/{endpoint_id}/confirm",
    response_model=EndpointRead,
    tags=["webhooks"],
    summary="Confirm an endpoint under review (org owners/admins): its held deliveries resume",
)
async def confirm_endpoint(
    endpoint_id: UUID, principal: CurrentPrincipal, webhooks: Webhooks
) -> EndpointRead:
    return _endpoint(await webhooks.confirm(principal=principal, endpoint_id=endpoint_id))


@router.get(
    "/webhooks/{endpoint_id}/messages", response_model=MessagePage, tags=["deliveries"], summary="Messages"
)
async def list_messages(
    endpoint_id: UUID,
    principal: CurrentPrincipal,
    webhooks: Webhooks,
    status_: Annotated[Literal["pending", "succeeded", "failed"] | None, Query(alias="status")] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> MessagePage:
    docs = await webhooks.messages(
        principal=principal, endpoint_id=endpoint_id, status=status_, after=decode_cursor(cursor), limit=limit
    )
    return MessagePage(
        items=[_message(d) for d in docs], next_cursor=next_cursor([d["_id"] for d in docs], limit)
    )


@router.get(
    "/webhooks/{endpoint_id}/messages/{message_id}/attempts",
    response_model=list[AttemptRead],
    tags=["deliveries"],
    summary="Attempts at one message: status code, latency, response snippet, error",
)
async def list_attempts(
    endpoint_id: UUID, message_id: UUID, principal: CurrentPrincipal, webhooks: Webhooks
) -> list[AttemptRead]:
    docs = await webhooks.attempts(principal=principal, endpoint_id=endpoint_id, message_id=message_id)
    return [AttemptRead.model_validate({**d, "id": d["_id"]}) for d in docs]


@router.post(
    "/webhooks/{endpoint_id}/messages/{message_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageRead,
    tags=["deliveries"],
    summary="Deliver a finished message again, now, with a fresh schedule",
)
async def retry_message(
    endpoint_id: UUID, message_id: UUID, principal: CurrentPrincipal, webhooks: Webhooks
) -> MessageRead:
    return _message(await webhooks.retry(principal=principal, endpoint_id=endpoint_id, message_id=message_id))


@router.post(
    "/webhooks/{endpoint_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Replayed,
    tags=["deliveries"],
    summary="Deliver again every failed message since a time",
)
async def replay(
    endpoint_id: UUID, body: Replay, principal: CurrentPrincipal, webhooks: Webhooks
) -> Replayed:
    count = await webhooks.replay(principal=principal, endpoint_id=endpoint_id, since=body.since)
    return Replayed(replayed=count)


@router.post(
    "/webhooks/{endpoint_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageRead,
    tags=["deliveries"],
    summary="Send a `webhook.test` event to the endpoint",
)
async def send_test(endpoint_id: UUID, principal: CurrentPrincipal, webhooks: Webhooks) -> MessageRead:
    return _message(await webhooks.send_test(principal=principal, endpoint_id=endpoint_id))


@router.get(
    "/webhooks/{endpoint_id}/stats",
    response_model=EndpointStats,
    tags=["deliveries"],
    summary="Success rate, latency, last success, backlog",
)
async def stats(
    endpoint_id: UUID,
    principal: CurrentPrincipal,
    webhooks: Webhooks,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> EndpointStats:
    return EndpointStats.model_validate(
        await webhooks.stats(principal=principal, endpoint_id=endpoint_id, days=days)
    )


# ---- the in-app feed and preferences ------------------------------------------------------------
@router.get("/me/notices", response_model=NoticePage, tags=["notices"], summary="Your notices, newest first")
async def feed(
    principal: CurrentPrincipal,
    notices: Notices,
    unread: bool = False,
    cursor: str | None = None,
    limit: Limit = 50,
) -> NoticePage:
    docs = await notices.feed(
        principal=principal, unread_only=unread, after=decode_cursor(cursor), limit=limit
    )
    return NoticePage(
        items=[_notice(d) for d in docs], next_cursor=next_cursor([d["_id"] for d in docs], limit)
    )


@router.get("/me/notices/unread-count", response_model=UnreadCount, tags=["notices"], summary="Unread")
async def unread_count(principal: CurrentPrincipal, notices: Notices) -> UnreadCount:
    return UnreadCount(unread=await notices.unread_count(principal=principal))


@router.post("/me/notices/{notice_id}/read", response_model=NoticeRead, tags=["notices"], summary="Mark read")
async def mark_read(notice_id: UUID, principal: CurrentPrincipal, notices: Notices) -> NoticeRead:
    return _notice(await notices.mark_read(principal=principal, notice_id=notice_id))


@router.post("/me/notices/read", response_model=MarkedRead, tags=["notices"], summary="Mark all read")
async def mark_all_read(principal: CurrentPrincipal, notices: Notices) -> MarkedRead:
    return MarkedRead(marked=await notices.mark_all_read(principal=principal))


@router.get("/me/preferences", response_model=Preferences, tags=["notices"], summary="Your notice choices")
async def preferences(principal: CurrentPrincipal, notices: Notices) -> Preferences:
    return Preferences.model_validate({"categories": await notices.preferences(principal=principal)})


@router.patch(
    "/me/preferences",
    response_model=Preferences,
    tags=["notices"],
    summary="Opt out of (or back into) a category, per channel (email, in_app)",
)
async def set_preferences(
    body: PreferencesUpdate, principal: CurrentPrincipal, notices: Notices
) -> Preferences:
    chosen: dict[Category, dict[Channel, bool]] = {
        category: {Channel(k): v for k, v in choice.model_dump(exclude_none=True).items()}
        for category, choice in body.categories.items()
    }
    return Preferences.model_validate(
        {"categories": await notices.set_preferences(principal=principal, categories=chosen)}
    )


# ---- mail kept as sent to decision-makers ------------------------------------------------------------
@router.get(
    "/sent-messages",
    response_model=SentMessagePage,
    responses={404: {"description": "None of the caller's organizations takes part in the campaign"}},
    tags=["sent messages"],
    summary="Letters and petitions sent to decision-makers for a campaign, as sent (the organization's "
    "managers: organizers, admins, owners)",
)
async def list_sent_messages(
    campaign_id: UUID,
    principal: CurrentPrincipal,
    sent: Sent,
    cursor: str | None = None,
    limit: Limit = 50,
) -> SentMessagePage:
    docs = await sent.of_campaign(
        principal=principal, campaign_id=campaign_id, after=decode_cursor(cursor), limit=limit
    )
    return SentMessagePage(
        items=[SentMessageRead.model_validate({**d, "id": d["_id"]}) for d in docs],
        next_cursor=next_cursor([d["_id"] for d in docs], limit),
    )
