"""One publisher per produced topic; the outbox relay publishes through them."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker

from common.contracts import coalition as ev
from common.contracts import topics
from common.events import envelope_schema

CoalitionEvent = envelope_schema("CoalitionCoalitionEvent", ev.COALITION_EVENTS)
MembershipEvent = envelope_schema("CoalitionMembershipEvent", ev.MEMBERSHIP_EVENTS)


def declare_publishers(broker: KafkaBroker) -> dict[str, Any]:
    return {
        topics.COALITION_COALITIONS: broker.publisher(
            topics.COALITION_COALITIONS,
            title=topics.COALITION_COALITIONS,
            schema=CoalitionEvent,
            description="Coalitions created, updated, archived; key: coalition id. CloudEvents 1.0 structured JSON.",
        ),
        topics.COALITION_MEMBERSHIPS: broker.publisher(
            topics.COALITION_MEMBERSHIPS,
            title=topics.COALITION_MEMBERSHIPS,
            schema=MembershipEvent,
            description=(
                "Organizations' membership lifecycle and data-sharing agreements; key: coalition id, so one "
                "coalition's changes stay in order. Each event carries the membership after the change."
            ),
        ),
    }
