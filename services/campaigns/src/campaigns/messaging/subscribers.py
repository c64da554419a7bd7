"""What the campaigns service consumes: the coalition projection (coalitions, memberships) from the
coalition service's events, the access projection from identity's, and its own recorded actions,
counted by the aggregator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage

from campaigns.aggregator import Aggregator
from campaigns.messaging.deliveries import register_delivery_reports
from campaigns.messaging.disclosures import register_organization_consumer
from campaigns.service import CampaignService
from common.access import AccessProjection, subscribe_access
from common.contracts import campaigns as campaign_events
from common.contracts import coalition as coalition_events
from common.contracts import topics
from common.events import CloudEvent
from common.inbox import EventConsumer, Handler
from common.kafka import document_consumed, incoming, subscribe_consumer
from common.mongo import Session
from common.runtime import Runtime

log = logging.getLogger(__name__)
CONSUMER = "campaigns-coalitions"
AGGREGATOR = "campaigns-aggregator"
AGGREGATOR_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


def register_consumers(
    service: Callable[[], CampaignService],
    max_attempts: int,
    aggregator: Callable[[], Aggregator] | None = None,
    batch_size: int = 500,
) -> Callable[[Runtime], None]:
    async def created(payload: coalition_events.CoalitionCreated, _: CloudEvent, session: Session) -> None:
        fields = {
            "name": payload.name,
            "visibility": payload.visibility,
            "status": "active",
            "require_current_disclosure": payload.require_current_disclosure,
        }
        await service().coalition_seen(coalition_id=payload.coalition_id, fields=fields, session=session)

    async def updated(payload: coalition_events.CoalitionUpdated, _: CloudEvent, session: Session) -> None:
        fields = {
            "name": payload.name,
            "visibility": payload.visibility,
            "require_current_disclosure": payload.require_current_disclosure,
        }
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
        subscribe_access(runtime, AccessProjection(runtime.db), max_attempts=max_attempts)
        register_delivery_reports(runtime, service, max_attempts)
        register_organization_consumer(runtime, service, max_attempts)
        if aggregator is not None:
            register_aggregator(runtime, aggregator, batch_size)

    return register


def register_aggregator(runtime: Runtime, aggregator: Callable[[], Aggregator], batch_size: int) -> None:
    """Count recorded actions in batches: one consumer group, partitioned by campaign (the topic's key)."""

    async def ignore(*_: Any) -> None:
        return None

    # Used to decode and validate, and to dead-letter poison messages; counting happens in batches.
    decoder = EventConsumer(
        name=AGGREGATOR,
        client=runtime.client,
        db=runtime.db,
        sink=runtime.broker,
        handlers={campaign_events.ActionRecorded.event_type: Handler(campaign_events.ActionRecorded, ignore)},
        known_types=[e.event_type for e in campaign_events.ACTION_EVENTS],
    )

    async def count_batch(message: KafkaMessage) -> None:
        recorded: list[campaign_events.ActionRecorded] = []
        for record in message.raw_message:
            payload = await decoder.validated(incoming(record))
            if isinstance(payload, campaign_events.ActionRecorded):
                recorded.append(payload)
        # Counting must not give up: an action that got its 2xx is counted, whatever the wait. Past
        # the retries the batch is nacked and consumed again (the sweeper counts it meanwhile).
        for pause in (*AGGREGATOR_RETRY_SECONDS, None):
            try:
                await aggregator().count_recorded(recorded)
                return
            except Exception:
                if pause is None:
                    raise
                log.warning("aggregator: counting a batch failed; retrying in %ss", pause, exc_info=True)
                await asyncio.sleep(pause)

    count_batch.__name__ = f"{AGGREGATOR}_consumer"
    runtime.broker.subscriber(
        topics.CAMPAIGNS_ACTIONS,
        group_id=AGGREGATOR,
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=20,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=f"{AGGREGATOR}:{topics.CAMPAIGNS_ACTIONS}",
        description=(
            "Counts recorded actions into each campaign's totals, goal progress and milestones, a batch "
            "at a time, exactly once per action."
        ),
    )(count_batch)
    document_consumed(runtime.broker, f"{AGGREGATOR}:{topics.CAMPAIGNS_ACTIONS}", decoder)
