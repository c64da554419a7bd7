"""Kafka topic names: one per aggregate, `<service>.<aggregates>.v<major>`."""

IDENTITY_ORGANIZATIONS = "identity.organizations.v1"
IDENTITY_USERS = "identity.users.v1"
COALITION_COALITIONS = "coalition.coalitions.v1"
COALITION_MEMBERSHIPS = "coalition.memberships.v1"
CAMPAIGNS_CAMPAIGNS = "campaigns.campaigns.v1"
CAMPAIGNS_ACTIONS = "campaigns.actions.v1"
NOTIFICATIONS_DELIVERIES = "notifications.deliveries.v1"
FEDERATION_CAMPAIGNS = "federation.campaigns.v1"


def dead_letter_topic(consumer: str) -> str:
    """Where a consumer group parks the messages it cannot process."""
    return f"deadletter.{consumer}.v1"
