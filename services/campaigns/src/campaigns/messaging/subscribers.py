"""The coalition projection (coalitions, memberships), fed by the coalition service's events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from campaigns.service import CampaignService
from common.contracts import coalition as coalition_events
from common.contracts import topics
from common.events import CloudEvent
from common.inbox import EventConsumer, Handler
from common.kafka import subscribe_consumer
from common.mongo import Session
from common.runtime import Runtime

CONSUMER = "campaigns-coalitions"


def register_consumers(
    service: Callable[[], CampaignService], max_attempts: int
) -> Callable[[Runtime], None]:
    async def created(payload: coalition_events.CoalitionCreated, _: CloudEvent, session: Session) -> None:
        fields = {"name": payload.name, "visibility": payload.visibility, "status": "active"}
        await service().coalition_seen(coalition_id=payload.coalition_id, fields=fields, session=session)

    async def updated(payload: coalition_events.CoalitionUpdated, _: CloudEvent, session: Session) -> None:
        fields = {"name": payload.name, "visibility": payload.visibility}
        await service().coalition_seen(coalition_id=payload.coalition_id, fields=fields, session=session)

    async def archived(payload: coalition_events.CoalitionArchived, _: CloudEvent, session: Session) -> None:
        await service().coalition_seen(
            coalition_id=payload.coalition_id, fields={"status": "archived"}, session=session
        )

    async def membership(payload: coalition_events._MembershipEvent, _: CloudEvent, session: Session) -> None:
        await service().membership_changed(payload=payload, session=session)

    def register(runtime: Runtime) -> None:
        handlers: dict[str, Handler[Any]] = {
            coalition_events.CoalitionCreated.event_type: Handler(coalition_events.CoalitionCreated, created),
            coalition_events.CoalitionUpdated.event_type: Handler(coalition_events.CoalitionUpdated, updated),
            coalition_events.CoalitionArchived.event_type: Handler(
                coalition_events.CoalitionArchived, archived
            ),
        }
        for event in coalition_events.MEMBERSHIP_EVENTS:
            handlers[event.event_type] = Handler(event, membership)
        consumer = EventConsumer(
            name=CONSUMER,
            client=runtime.client,
            db=runtime.db,
            sink=runtime.broker,
            max_attempts=max_attempts,
            handlers=handlers,
            known_types=[
                e.event_type
                for e in (*coalition_events.COALITION_EVENTS, *coalition_events.MEMBERSHIP_EVENTS)
            ],
        )
        subscribe_consumer(
            runtime.broker,
            consumer,
            topics.COALITION_COALITIONS,
            topics.COALITION_MEMBERSHIPS,
            description="Keeps the projection of coalitions and their members' roles, states and sharing agreements.",
        )

    return register
