"""The campaigns service's use cases, composed: one object the routes and consumers call.

Each use case lives in its own module under `campaigns.usecases` (access, lifecycle, adoption, the
action intake, stories, privacy, the coalition projection). Authorization is decided there from the
token's organization roles and the service's own projection of coalition memberships (built from the
coalition service's events, never by calling it). Totals are the aggregator's (`campaigns.aggregator`).
"""

from __future__ import annotations

from campaigns.usecases.access import Standing
from campaigns.usecases.actions import ActionInput, Party, PublicPage, Recorded, SupporterInput
from campaigns.usecases.impact import Impact
from campaigns.usecases.letters import Letters
from campaigns.usecases.lifecycle import NewCampaign
from campaigns.usecases.meetings import Meetings
from campaigns.usecases.outcomes import Outcomes
from campaigns.usecases.petitions import PetitionDeliveries
from campaigns.usecases.privacy import Privacy
from campaigns.usecases.projection import Projection
from campaigns.usecases.stories import Stories
from campaigns.usecases.verification import AlreadyConfirmed, Confirmed, Verification


class CampaignService(
    Verification,
    Letters,
    PetitionDeliveries,
    Stories,
    Privacy,
    Projection,
    Meetings,
    Outcomes,
    Impact,
):
    """Every use case of the service, sharing one set of connections."""


__all__ = [
    "ActionInput",
    "AlreadyConfirmed",
    "CampaignService",
    "Confirmed",
    "NewCampaign",
    "Party",
    "PublicPage",
    "Recorded",
    "Standing",
    "SupporterInput",
]
