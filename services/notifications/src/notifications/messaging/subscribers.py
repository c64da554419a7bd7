"""The consumers: identity, coalition and campaigns events feed projections, webhooks and notices."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage

from common.access import AccessChanged, AccessProjection, subscribe_access
from common.contracts import campaigns, coalition, identity, topics
from common.events import CloudEvent, EventPayload
from common.inbox import EventConsumer, Handler, IncomingMessage, Outcome
from common.kafka import document_consumed, incoming, subscribe_consumer
from common.mongo import Session
from common.runtime import Runtime
from notifications.batches import ActionBatchConsumer
from notifications.intake import EventIntake
from notifications.wakeup import collecting_queued

Wake = Callable[[str], None]

# One consumer group per source service, so one service's backlog does not hold up another's.
CONSUMERS: dict[str, tuple[tuple[str, ...], tuple[type[EventPayload], ...], str]] = {
    "notifications-identity": (
        (topics.IDENTITY_USERS, topics.IDENTITY_ORGANIZATIONS),
        (*identity.USER_EVENTS, *identity.ORGANIZATION_EVENTS),
        "People's e-mail addresses and organization roles (recipients), invitations, organization events.",
    ),
    "notifications-coalition": (
        (topics.COALITION_COALITIONS, topics.COALITION_MEMBERSHIPS),
        (*coalition.COALITION_EVENTS, *coalition.MEMBERSHIP_EVENTS),
        "Coalition memberships (webhook entitlement, notices) and coalition events for webhooks.",
    ),
    "notifications-campaigns": (
        (topics.CAMPAIGNS_CAMPAIGNS,),
        campaigns.CAMPAIGN_EVENTS,
        "Campaign ownership and adoption, milestones and the other campaign events for webhooks.",
    ),
}
# Supporter actions, the busiest topic, in batches (notifications.batches); until this group existed
# the `notifications-campaigns` group consumed them one at a time, so its inbox entries count as done.
ACTIONS_CONSUMER = "notifications-actions"
ACTIONS_LEGACY_CONSUMERS = ("notifications-campaigns",)
ACTIONS_BATCH_RECORDS = 500


class WakingConsumer(EventConsumer):
    """An idempotent consumer that, once an event's transaction has committed, wakes the workers of the
    queues (webhook messages, e-mails) it filled, so they are attempted at once rather than when polled."""

    def __init__(self, *, wake: Mapping[str, Wake], **options: Any) -> None:
        super().__init__(**options)
        self.wake = wake

    async def consume(self, message: IncomingMessage) -> str:
        with collecting_queued() as queued:
            outcome = await super().consume(message)
        if outcome == Outcome.PROCESSED:
            for queue in queued:
                if queue in self.wake:
                    self.wake[queue]("consumer")
        return outcome


def register_consumers(
    intake: Callable[[], EventIntake],
    max_attempts: int,
    wake: Mapping[str, Wake],
    access_changed: Callable[[], AccessChanged] | None = None,
) -> Callable[[Runtime], None]:
    async def apply(payload: Any, event: CloudEvent, session: Session) -> None:
        await intake().handle(payload, event, session)

    async def changed(payload: EventPayload, session: Session) -> None:
        if access_changed is not None:
            await access_changed()(payload, session)

    def subscribe_actions(runtime: Runtime) -> None:
        consumer = WakingConsumer(
            wake=wake,
            name=ACTIONS_CONSUMER,
            client=runtime.client,
            db=runtime.db,
            sink=runtime.broker,
            max_attempts=max_attempts,
            handlers={p.event_type: Handler(p, apply) for p in campaigns.ACTION_EVENTS},
        )
        batches = ActionBatchConsumer(
            consumer=consumer,
            intake=intake,
            client=runtime.client,
            db=runtime.db,
            wake=wake,
            legacy_names=ACTIONS_LEGACY_CONSUMERS,
        )

        async def handle(message: KafkaMessage) -> None:
            await batches.consume_batch([incoming(record) for record in message.raw_message])

        title = f"{ACTIONS_CONSUMER}:{topics.CAMPAIGNS_ACTIONS}"
        handle.__name__ = f"{ACTIONS_CONSUMER}_consumer"
        runtime.broker.subscriber(
            topics.CAMPAIGNS_ACTIONS,
            group_id=ACTIONS_CONSUMER,
            batch=True,
            max_records=ACTIONS_BATCH_RECORDS,
            batch_timeout_ms=10,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=title,
            description=(
                "Supporter actions (recorded, consent withdrawn, supporter erased) for webhooks and "
                "redaction, a partition's batch per transaction, partitions concurrently."
            ),
        )(handle)
        document_consumed(runtime.broker, title, consumer)

    def register(runtime: Runtime) -> None:
        for name, (consumed, payloads, description) in CONSUMERS.items():
            consumer = WakingConsumer(
                wake=wake,
                name=name,
                client=runtime.client,
                db=runtime.db,
                sink=runtime.broker,
                max_attempts=max_attempts,
                handlers={p.event_type: Handler(p, apply) for p in payloads},
            )
            subscribe_consumer(runtime.broker, consumer, *consumed, description=description)
        subscribe_actions(runtime)
        # Who may call the API now, and the review of endpoints whose creator lost access.
        subscribe_access(
            runtime,
            AccessProjection(runtime.db),
            max_attempts=max_attempts,
            on_change=changed,
            consumer_type=WakingConsumer,
            wake=wake,
        )

    return register
