"""One publisher per produced topic; the outbox relay publishes through them."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker

from common.contracts import campaigns as ev
from common.contracts import topics
from common.events import envelope_schema

CampaignEvent = envelope_schema("CampaignsCampaignEvent", ev.CAMPAIGN_EVENTS)
ActionEvent = envelope_schema("CampaignsActionEvent", ev.ACTION_EVENTS)
FederationEvent = envelope_schema("FederationCampaignEvent", ev.FEDERATION_EVENTS)


def declare_publishers(broker: KafkaBroker) -> dict[str, Any]:
    return {
        topics.CAMPAIGNS_CAMPAIGNS: broker.publisher(
            topics.CAMPAIGNS_CAMPAIGNS,
            title=topics.CAMPAIGNS_CAMPAIGNS,
            schema=CampaignEvent,
            description=(
                "Campaign lifecycle, edits, adoptions, goal milestones and published stories; key: campaign id. "
                "Internal to the platform; no personal data."
            ),
        ),
        topics.CAMPAIGNS_ACTIONS: broker.publisher(
            topics.CAMPAIGNS_ACTIONS,
            title=topics.CAMPAIGNS_ACTIONS,
            schema=ActionEvent,
            description=(
                "Supporter actions, consent withdrawals and erasures; key: campaign id. Internal: "
                "`campaigns.action.recorded` carries `contact` only with the supporter's consent to be "
                "contacted by the attributed organization."
            ),
        ),
        topics.FEDERATION_CAMPAIGNS: broker.publisher(
            topics.FEDERATION_CAMPAIGNS,
            title=topics.FEDERATION_CAMPAIGNS,
            schema=FederationEvent,
            description=(
                "Public projection for partner organizations: campaign state, progress and milestones once a "
                "campaign is launched; key: campaign id. Never personal data."
            ),
        ),
    }
