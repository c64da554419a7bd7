"""What the campaigns service takes from identity's organizations topic: each organization's name (for
impact reports) and its funding declaration (consumer group `campaigns-organizations`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from common.contracts import identity as idn
from common.contracts import topics
from common.events import CloudEvent
from common.inbox import EventConsumer, Handler
from common.kafka import subscribe_consumer
from common.mongo import Session
from common.runtime import Runtime

if TYPE_CHECKING:
    from campaigns.service import CampaignService

CONSUMER = "campaigns-organizations"


def register_organization_consumer(
    runtime: Runtime, service: Callable[[], CampaignService], max_attempts: int
) -> None:
    async def seen(payload: Any, _: CloudEvent, session: Session) -> None:
        await service().organization_seen(payload=payload, session=session)

    handlers: dict[str, Handler[Any]] = {
        e.event_type: Handler(e, seen)
        for e in (idn.OrganizationRegistered, idn.OrganizationUpdated, idn.OrganizationDisclosuresUpdated)
    }
    consumer = EventConsumer(
        name=CONSUMER,
        client=runtime.client,
        db=runtime.db,
        sink=runtime.broker,
        max_attempts=max_attempts,
        handlers=handlers,
        known_types=[e.event_type for e in idn.ORGANIZATION_EVENTS],
    )
    subscribe_consumer(
        runtime.broker,
        consumer,
        topics.IDENTITY_ORGANIZATIONS,
        description=(
            "Keeps each organization's name and funding declaration, shown with the campaigns it takes part "
            "in (public links, federation, impact reports) and required by coalitions before adoption."
        ),
    )
