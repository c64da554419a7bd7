"""Request and response bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from common.text import MULTI_LINE, ONE_LINE
from notifications.domain.notices import Category, Channel

# The description is a free text (common.text: no control or format characters but tab and line breaks).
# The URL and event type patterns are checked by the service; no control or format character gets that far.
Description = Annotated[str, StringConstraints(max_length=500), MULTI_LINE]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2000), ONE_LINE]
EventType = Annotated[str, ONE_LINE]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointCreate(_Strict):
    url: Url = Field(description="https URL (http only in development)")
    event_types: list[EventType] = Field(
        min_length=1, max_length=100, description="Exact types or wildcards: `campaigns.*`, `*`"
    )
    coalition_ids: list[UUID] = Field(default_factory=list, max_length=100)
    campaign_ids: list[UUID] = Field(default_factory=list, max_length=100)
    description: Description = ""
    enabled: bool = True
    rate_per_second: float | None = Field(
        None, gt=0, le=1000, description="Override of the service's per-endpoint rate limit"
    )


class EndpointUpdate(_Strict):
    url: Url | None = None
    event_types: list[EventType] | None = Field(None, min_length=1, max_length=100)
    coalition_ids: list[UUID] | None = Field(None, max_length=100)
    campaign_ids: list[UUID] | None = Field(None, max_length=100)
    description: Description | None = None
    enabled: bool | None = None
    rate_per_second: float | None = Field(None, gt=0, le=1000)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class EndpointCreator(BaseModel):
    kind: Literal["user", "client"] = Field(description="A person, or an organization's API client")
    id: str = Field(description="The user's id, or the API client's `client_id`")
    organization_id: UUID = Field(description="The organization the endpoint was created for")


class EndpointRead(BaseModel):
    id: UUID
    organization_id: UUID
    url: str
    event_types: list[str]
    coalition_ids: list[UUID]
    campaign_ids: list[UUID]
    description: str
    enabled: bool
    disabled_reason: str | None
    rate_per_second: float | None
    created_at: datetime
    updated_at: datetime
    last_success_at: datetime | None
    failing_since: datetime | None
    secret_count: int = Field(description="Secrets that sign now (2 during a rotation's grace period)")
    created_by: EndpointCreator | None = Field(
        None, description="Who registered the endpoint (unknown for endpoints older than this field)"
    )
    needs_review: bool = Field(
        False,
        description=(
            "The creator lost access (removed, no longer an admin, client revoked): deliveries are held "
            "until an owner or admin confirms the endpoint"
        ),
    )
    review_reason: Literal["creator_removed", "creator_demoted", "creator_client_revoked"] | None = None
    review_since: datetime | None = None


class EndpointWithSecret(EndpointRead):
    secret: str = Field(description="The signing secret (`whsec_...`); shown only now")


class EndpointPage(BaseModel):
    items: list[EndpointRead]
    next_cursor: str | None


class Rotation(_Strict):
    grace_seconds: int | None = Field(
        None, ge=0, le=30 * 24 * 3600, description="How long the previous secret keeps signing"
    )


class MessageRead(BaseModel):
    id: UUID
    webhook_id: str
    endpoint_id: UUID
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    payload: dict[str, Any]


class MessagePage(BaseModel):
    items: list[MessageRead]
    next_cursor: str | None


class AttemptRead(BaseModel):
    id: UUID
    attempt: int
    at: datetime
    outcome: Literal["succeeded", "failed"]
    status_code: int | None
    latency_ms: int | None
    response_snippet: str | None
    error: str | None


class Replay(_Strict):
    since: AwareDatetime = Field(description="Replay every failed message created since this time (RFC 3339)")

    @field_validator("since", mode="before")
    @classmethod
    def _a_timestamp_string(cls, value: Any) -> Any:
        # A bare number would otherwise be taken for Unix seconds.
        if not isinstance(value, str):
            raise ValueError("an RFC 3339 date-time string with a time zone is expected")
        return value


class Replayed(BaseModel):
    replayed: int


class EndpointStats(BaseModel):
    endpoint_id: UUID
    since: datetime
    attempts: int
    succeeded: int
    failed: int
    success_rate: float | None
    average_latency_ms: float | None
    last_success_at: datetime | None
    failing_since: datetime | None
    pending_messages: int
    failed_messages: int
    enabled: bool
    disabled_reason: str | None


class NoticeRead(BaseModel):
    id: UUID
    category: Category
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


class NoticePage(BaseModel):
    items: list[NoticeRead]
    next_cursor: str | None


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int


class ChannelChoice(_Strict):
    email: bool | None = None
    in_app: bool | None = None


class Preferences(BaseModel):
    categories: dict[Category, dict[Channel, bool]]


class PreferencesUpdate(_Strict):
    categories: dict[Category, ChannelChoice] = Field(max_length=20)


class SentTarget(BaseModel):
    target_id: UUID
    target_version: int
    name: str
    email: str


class SentAttachment(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str


class SentMessageRead(BaseModel):
    """A mail to a decision-maker as it was sent: its rendered headers, text and attachments' hashes."""

    id: UUID
    kind: Literal["letter", "digest", "petition"]
    campaign_id: UUID
    organization_id: UUID
    target: SentTarget
    item_ids: list[UUID] = Field(description="The letters (or the petition delivery) the mail carried")
    headers: dict[str, str]
    body: str
    attachments: list[SentAttachment]
    sent_at: datetime
    expires_at: datetime | None = Field(
        description="When it is deleted: the campaign's archival plus the retention; null while it runs"
    )
    redacted: bool = Field(False, description="A supporter it carried was erased: their text is gone")


class SentMessagePage(BaseModel):
    items: list[SentMessageRead]
    next_cursor: str | None
