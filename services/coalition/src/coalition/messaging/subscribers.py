"""The organization and access projections, fed by identity's events (idempotent, with a dead-letter topic)."""

from __future__ import annotations

from collections.abc import Callable

from coalition.service import CoalitionService
from common.access import AccessProjection, subscribe_access
from common.contracts import identity as identity_events
from common.contracts import topics
from common.events import CloudEvent
from common.inbox import EventConsumer, Handler
from common.kafka import subscribe_consumer
from common.mongo import Session
from common.runtime import Runtime

CONSUMER = "coalition-organizations"


def register_consumers(
    service: Callable[[], CoalitionService], max_attempts: int
) -> Callable[[Runtime], None]:
    async def registered(
        payload: identity_events.OrganizationRegistered, _: CloudEvent, session: Session
    ) -> None:
        await service().organization_seen(
            org_id=payload.organization_id, name=payload.name, slug=payload.slug, session=session
        )

    async def updated(payload: identity_events.OrganizationUpdated, _: CloudEvent, session: Session) -> None:
        await service().organization_seen(
            org_id=payload.organization_id, name=payload.name, slug=payload.slug, session=session
        )

    async def deactivated(
        payload: identity_events.OrganizationDeactivated, _: CloudEvent, session: Session
    ) -> None:
        await service().organization_deactivated(org_id=payload.organization_id, session=session)

    def register(runtime: Runtime) -> None:
        consumer = EventConsumer(
            name=CONSUMER,
            client=runtime.client,
            db=runtime.db,
            sink=runtime.broker,
            max_attempts=max_attempts,
            handlers={
                identity_events.OrganizationRegistered.event_type: Handler(
                    identity_events.OrganizationRegistered, registered
                ),
                identity_events.OrganizationUpdated.event_type: Handler(
                    identity_events.OrganizationUpdated, updated
                ),
                identity_events.OrganizationDeactivated.event_type: Handler(
                    identity_events.OrganizationDeactivated, deactivated
                ),
            },
            known_types=[e.event_type for e in identity_events.ORGANIZATION_EVENTS],
        )
        subscribe_consumer(
            runtime.broker,
            consumer,
            topics.IDENTITY_ORGANIZATIONS,
            description="Keeps the projection of organizations (exists, name, active).",
        )
        subscribe_access(runtime, AccessProjection(runtime.db), max_attempts=max_attempts)

    return register
