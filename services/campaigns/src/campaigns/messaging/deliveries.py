"""What the notifications service reports of mail to decision-makers: each letter's and each petition
delivery's sent or failed, kept per letter and target (consumer group `campaigns-deliveries`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from common.contracts import notifications as notes
from common.contracts import topics
from common.events import CloudEvent, EventPayload
from common.inbox import EventConsumer, Handler
from common.kafka import subscribe_consumer
from common.mongo import Session
from common.runtime import Runtime

if TYPE_CHECKING:
    from campaigns.service import CampaignService

CONSUMER = "campaigns-deliveries"


def topic_types() -> list[str]:
    """Every event type on the notifications deliveries topic: the others (webhook deliveries) are
    skipped, not dead-lettered."""
    return sorted(
        value.event_type
        for value in vars(notes).values()
        if isinstance(value, type)
        and issubclass(value, EventPayload)
        and getattr(value, "topic", None) == topics.NOTIFICATIONS_DELIVERIES
        and "event_type" in vars(value)
    )


def register_delivery_reports(
    runtime: Runtime, service: Callable[[], CampaignService], max_attempts: int
) -> None:
    async def letter_sent(payload: notes.LetterSent, _: CloudEvent, session: Session) -> None:
        await service().letter_sent(payload=payload, session=session)

    async def letter_failed(payload: notes.LetterFailed, _: CloudEvent, session: Session) -> None:
        await service().letter_failed(payload=payload, session=session)

    async def petition_sent(payload: notes.PetitionSent, _: CloudEvent, session: Session) -> None:
        await service().petition_sent(payload=payload, session=session)

    async def petition_failed(payload: notes.PetitionFailed, _: CloudEvent, session: Session) -> None:
        await service().petition_failed(payload=payload, session=session)

    handlers: dict[str, Handler[Any]] = {
        notes.LetterSent.event_type: Handler(notes.LetterSent, letter_sent),
        notes.LetterFailed.event_type: Handler(notes.LetterFailed, letter_failed),
        notes.PetitionSent.event_type: Handler(notes.PetitionSent, petition_sent),
        notes.PetitionFailed.event_type: Handler(notes.PetitionFailed, petition_failed),
    }
    consumer = EventConsumer(
        name=CONSUMER,
        client=runtime.client,
        db=runtime.db,
        sink=runtime.broker,
        max_attempts=max_attempts,
        handlers=handlers,
        known_types=topic_types(),
    )
    subscribe_consumer(
        runtime.broker,
        consumer,
        topics.NOTIFICATIONS_DELIVERIES,
        description=(
            "Keeps the delivery state of letters per letter and target, and of petition deliveries, as the "
            "notifications service reports its mail to decision-makers sent or failed."
        ),
    )
