"""Events of the notifications service: webhook deliveries and endpoints (`notifications.deliveries.v1`).

Payloads name the endpoint, its organization and the delivered event, never the delivered data itself:
what a webhook carried may hold a supporter's contact details, and this topic is read by other services.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from common.contracts import topics
from common.events import EventPayload


class _DeliveryEvent(EventPayload):
    topic: ClassVar[str] = topics.NOTIFICATIONS_DELIVERIES
    endpoint_id: UUID
    organization_id: UUID


class _AttemptEvent(_DeliveryEvent):
    message_id: UUID  # the `webhook-id` header is "msg_" followed by this id's hex
    delivered_event_id: str  # the CloudEvents id of the delivered event
    delivered_type: str  # its type, e.g. campaigns.action.recorded
    attempt: int  # 1-based attempt number
    status_code: int | None = None  # None when no HTTP response came (timeout, refused address, ...)
    latency_ms: int | None = None
    error: str | None = None


class DeliverySucceeded(_AttemptEvent):
    event_type: ClassVar[str] = "notifications.delivery.succeeded"


class DeliveryFailed(_AttemptEvent):
    """One attempt failed; `next_attempt_at` is None when no further attempt follows."""

    event_type: ClassVar[str] = "notifications.delivery.failed"
    next_attempt_at: datetime | None = None


class DeliveryExhausted(_AttemptEvent):
    """No attempt is left (schedule ran out, or the endpoint went away): the message is marked failed."""

    event_type: ClassVar[str] = "notifications.delivery.exhausted"


class EndpointDisabled(_DeliveryEvent):
    event_type: ClassVar[str] = "notifications.endpoint.disabled"
    reason: Literal["gone", "failing"]
    failing_since: datetime | None = None


DELIVERY_EVENTS: tuple[type[EventPayload], ...] = (
    DeliverySucceeded,
    DeliveryFailed,
    DeliveryExhausted,
    EndpointDisabled,
)

# ---- mail to decision-makers (letters, petition deliveries); keyed by the campaign id -------------------
# No personal data: which letter or delivery, to which target, when, and why it failed.


class _DecisionMakerMail(EventPayload):
    topic: ClassVar[str] = topics.NOTIFICATIONS_DELIVERIES
    campaign_id: UUID
    target_id: UUID


class LetterSent(_DecisionMakerMail):
    """The letter's mail to one target was accepted by the SMTP server (per letter, or in a digest)."""

    event_type: ClassVar[str] = "notifications.letter.sent"
    letter_id: UUID
    sent_at: datetime


class LetterFailed(_DecisionMakerMail):
    """An attempt failed; `final` when no further attempt follows (the letter stays unsent to the target).

    `reason`: `supporter_erased` (the supporter was erased before it was sent; final), `smtp_refused`
    (the server refused the message or recipient), `smtp_unavailable` (no connection), `invalid_address`.
    """

    event_type: ClassVar[str] = "notifications.letter.failed"
    letter_id: UUID
    reason: str
    final: bool


class PetitionSent(_DecisionMakerMail):
    event_type: ClassVar[str] = "notifications.petition.sent"
    delivery_id: UUID
    sent_at: datetime


class PetitionFailed(_DecisionMakerMail):
    event_type: ClassVar[str] = "notifications.petition.failed"
    delivery_id: UUID
    reason: str
    final: bool


MAIL_EVENTS: tuple[type[EventPayload], ...] = (LetterSent, LetterFailed, PetitionSent, PetitionFailed)
