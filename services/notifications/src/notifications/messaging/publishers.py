"""One publisher per produced topic; the outbox relay publishes through them."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker

from common.contracts import notifications as ev
from common.contracts import topics
from common.events import envelope_schema

DeliveryEvent = envelope_schema("NotificationsDeliveryEvent", (*ev.DELIVERY_EVENTS, *ev.MAIL_EVENTS))


def declare_publishers(broker: KafkaBroker) -> dict[str, Any]:
    return {
        topics.NOTIFICATIONS_DELIVERIES: broker.publisher(
            topics.NOTIFICATIONS_DELIVERIES,
            title=topics.NOTIFICATIONS_DELIVERIES,
            schema=DeliveryEvent,
            description=(
                "Webhook delivery outcomes (each attempt, exhaustion) and endpoints disabled (key: endpoint "
                "id); letters and petitions sent to decision-makers or failed (key: campaign id). Never "
                "carries the delivered data. CloudEvents 1.0 structured JSON."
            ),
        ),
    }
