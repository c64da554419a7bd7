"""One publisher per produced topic; the outbox relay publishes through them."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker

from common.contracts import identity as ev
from common.contracts import topics
from common.events import envelope_schema

OrganizationEvent = envelope_schema("IdentityOrganizationEvent", ev.ORGANIZATION_EVENTS)
UserEvent = envelope_schema("IdentityUserEvent", ev.USER_EVENTS)


def declare_publishers(broker: KafkaBroker) -> dict[str, Any]:
    return {
        topics.IDENTITY_ORGANIZATIONS: broker.publisher(
            topics.IDENTITY_ORGANIZATIONS,
            title=topics.IDENTITY_ORGANIZATIONS,
            description=(
                "Organization lifecycle, memberships, invitations and API clients; key: organization id. "
                "CloudEvents 1.0 structured JSON."
            ),
            schema=OrganizationEvent,
        ),
        topics.IDENTITY_USERS: broker.publisher(
            topics.IDENTITY_USERS,
            title=topics.IDENTITY_USERS,
            description=(
                "Users registered, e-mail verification requested (never the token) and e-mail verified; "
                "key: user id. CloudEvents 1.0 structured JSON."
            ),
            schema=UserEvent,
        ),
    }
