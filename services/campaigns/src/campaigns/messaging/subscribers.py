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
from opentelemetry import propagate, trace

from campaigns.aggregator import Aggregator
from campaigns.messaging.deliveries import register_delivery_reports
from campaigns.messaging.disclosures import register_organization_consumer
from campaigns.service import CampaignService
from common.access import AccessProjection, subscribe_access
from common.contracts import campaigns as campaign_events
from common.contracts import coalition as coalition_events
from common.contracts import topics
from common.events import CloudEvent
from common.inbox import EventConsumer, Handler, IncomingMessage
from common.kafka import document_consumed, incoming, subscribe_consumer
from common.mongo import Session
from common.runtime import Runtime

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
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
        recorded: list[tuple[IncomingMessage, campaign_events.ActionRecorded]] = []
        for record in message.raw_message:
            received = incoming(record)
            payload = await decoder.validated(received)
            if isinstance(payload, campaign_events.ActionRecorded):
                recorded.append((received, payload))
        # Each action's own trace gets a span for its counting (the batch span only links to them).
        batch = trace.get_current_span()
        spans = [
            tracer.start_span(
                f"aggregate {payload.event_type}",
                context=propagate.extract(dict(received.headers)),
                kind=trace.SpanKind.CONSUMER,
                links=[trace.Link(batch.get_span_context())] if batch.get_span_context().is_valid else None,
                attributes={"campaign.id": str(payload.campaign_id), "action.id": str(payload.action_id)},
            )
            for received, payload in recorded
        ]
        try:
            await count_or_park(recorded)
        finally:
            for span in spans:
                span.end()

    async def count_or_park(recorded: list[tuple[IncomingMessage, campaign_events.ActionRecorded]]) -> None:
        """Count the batch. Counting must not give up while MongoDB is unreachable: an action that got its
        2xx is counted, whatever the wait (past the retries the batch is nacked and consumed again, the
        sweeper counting meanwhile). But a campaign whose counting keeps failing while MongoDB answers
        (a poison event) must not hold up the partition: its messages go to the dead-letter topic, the
        others are counted, and the sweeper still counts its actions if they ever can be."""
        error = await with_retries([p for _, p in recorded])
        if error is None:
            return
        if not await decoder.database_answers():
            raise error
        by_campaign: dict[Any, list[tuple[IncomingMessage, campaign_events.ActionRecorded]]] = {}
        for item in recorded:
            by_campaign.setdefault(item[1].campaign_id, []).append(item)
        for campaign_id, items in by_campaign.items():
            failure = await with_retries([p for _, p in items], pauses=AGGREGATOR_RETRY_SECONDS[:2])
            if failure is None:
                continue
            if not await decoder.database_answers():
                raise failure
            log.error("aggregator: campaign %s cannot be counted; dead-lettering its events", campaign_id)
            for received, _ in items:
                await decoder.dead_letter(
                    received,
                    "handler-failed",
                    f"{type(failure).__name__}: {failure}",
                    attempts=len(AGGREGATOR_RETRY_SECONDS) + 3,
                )

    async def with_retries(
        payloads: list[campaign_events.ActionRecorded], pauses: tuple[float, ...] = AGGREGATOR_RETRY_SECONDS
    ) -> Exception | None:
        for pause in (*pauses, None):
            try:
                await aggregator().count_recorded(payloads)
                return None
            except Exception as exc:
                if pause is None:
                    return exc
                log.warning("aggregator: counting a batch failed; retrying in %ss", pause, exc_info=True)
                await asyncio.sleep(pause)
        return None

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
