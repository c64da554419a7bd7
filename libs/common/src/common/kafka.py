"""Kafka through FastStream: the broker factory (with telemetry) and the wiring of event consumers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry.trace import TracerProvider

from common.events import CloudEvent, envelope_schema
from common.inbox import EventConsumer, IncomingMessage

log = logging.getLogger(__name__)
TOPIC_ALREADY_EXISTS = 36

# What each subscriber (by title) receives, for the AsyncAPI document: consumers take the raw Kafka
# message so that a poison message still reaches their dead-letter logic, which FastStream would
# otherwise document as an empty payload.
_consumed: WeakKeyDictionary[KafkaBroker, dict[str, type[CloudEvent]]] = WeakKeyDictionary()


def create_broker(
    bootstrap_servers: str,
    *,
    client_id: str,
    tracer_provider: TracerProvider | None = None,
    **options: Any,
) -> KafkaBroker:
    """A broker whose publishes and consumes carry W3C trace context in headers.

    Idempotent producers stay off: the embedded Kafka-compatible broker refuses them, and the
    outbox and inbox already give at-least-once delivery with duplicates skipped.
    """
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        enable_idempotence=False,
        # FastStream's lines about consumers and messages go to a logger of ours, which
        # common.telemetry.configure_logging routes to the JSON formatter (not FastStream's coloured text).
        logger=logging.getLogger("faststream.kafka"),
        middlewares=(KafkaTelemetryMiddleware(tracer_provider=tracer_provider),),
        **options,
    )


def incoming(record: Any) -> IncomingMessage:
    """An `IncomingMessage` from one aiokafka `ConsumerRecord` (as batch subscribers receive them)."""
    return IncomingMessage(
        body=record.value or b"",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        headers={k: v.decode(errors="replace") for k, v in record.headers},
    )


def subscribe_consumer(
    broker: KafkaBroker, consumer: EventConsumer, *topics: str, description: str | None = None
) -> None:
    """Feed `topics` to `consumer` as one consumer group that commits after each message."""

    async def handle(message: KafkaMessage) -> None:
        raw = message.raw_message
        record = raw[0] if isinstance(raw, tuple) else raw
        await consumer.consume(
            IncomingMessage(
                body=message.body,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                headers={k: v for k, v in message.headers.items() if isinstance(v, str)},
            )
        )

    handle.__name__ = f"{consumer.name}_consumer"
    title = f"{consumer.name}:{'+'.join(topics)}"
    broker.subscriber(
        *topics,
        group_id=consumer.name,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=title,
        description=description,
    )(handle)
    document_consumed(broker, title, consumer)


def document_consumed(broker: KafkaBroker, title: str, consumer: EventConsumer) -> None:
    """Record that the subscriber `title` receives CloudEvents carrying the events `consumer` handles."""
    payloads = tuple(sorted({h.model for h in consumer.handlers.values()}, key=lambda m: m.event_type))
    if not payloads:
        return
    name = "".join(part.title() for part in consumer.name.replace("_", "-").split("-")) + "ConsumedEvent"
    _consumed.setdefault(broker, {})[title] = envelope_schema(name, payloads)


def consumed_envelopes(broker: KafkaBroker) -> dict[str, type[CloudEvent]]:
    """Each documented subscriber's title with the envelope model of what it receives."""
    return dict(_consumed.get(broker, {}))


async def ensure_topics(
    bootstrap_servers: str, partitions: Mapping[str, int], *, replication_factor: int = 1
) -> None:
    """Create topics that need more partitions than a broker's default (existing ones are left as
    they are: Kafka never lowers a topic's partitions, and raising them moves keys between partitions).
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(name, num_partitions=count, replication_factor=replication_factor)
                for name, count in partitions.items()
            ]
        )
        for topic, code, message in response.topic_errors:
            if code not in (0, TOPIC_ALREADY_EXISTS):
                log.warning("could not create topic %s: %s (%s)", topic, message, code)
    finally:
        await admin.close()
