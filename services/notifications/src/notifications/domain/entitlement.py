"""Which organization's endpoints may receive an event, and whether a supporter's contact stays in it.

An organization sees its own events, the events of coalitions it is an active member of (observers only
the public kinds), and the events of campaigns it owns or adopted. A supporter's contact details stay in
`campaigns.action.recorded` only for the organization the supporter consented to be contacted by, and
for active leads and members (never observers) of the campaign's coalition when the supporter also
agreed to share with the coalition under a `contacts_with_consent` agreement
(`contact_shared_with_coalition`). Everyone else gets the event with `contact` set to null.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

# Event kinds an observer organization of a coalition may receive: lifecycle and progress, nothing about
# other organizations' applications, suspensions or agreements, and no supporter-level events.
PUBLIC_TYPES = frozenset(
    {
        "coalition.coalition.created",
        "coalition.coalition.updated",
        "coalition.coalition.archived",
        "coalition.membership.joined",
        "coalition.membership.left",
        "coalition.membership.removed",
        "coalition.membership.role_changed",
        "campaigns.campaign.created",
        "campaigns.campaign.updated",
        "campaigns.campaign.launched",
        "campaigns.campaign.paused",
        "campaigns.campaign.resumed",
        "campaigns.campaign.closed",
        "campaigns.campaign.archived",
        "campaigns.campaign.adopted",
        "campaigns.adoption.withdrawn",
        "campaigns.goal.milestone_reached",
        "campaigns.story.published",
    }
)
FULL_MEMBER_ROLES = frozenset({"lead", "member"})


class Access(StrEnum):
    NONE = "none"
    WITHOUT_CONTACT = "without_contact"
    FULL = "full"


@dataclass(frozen=True)
class EventScope:
    """What an event is about, as far as entitlement goes."""

    event_type: str
    own_orgs: frozenset[UUID]
    coalition_id: UUID | None
    campaign_id: UUID | None
    contact_org: UUID | None = None
    contact_shared_with_coalition: bool = False

    @property
    def public(self) -> bool:
        return self.event_type in PUBLIC_TYPES


@dataclass(frozen=True)
class Standing:
    """One organization's relation to the event's coalition and campaign, from the projections."""

    coalition_role: str | None = None  # role of an *active* membership in the event's coalition
    owns_campaign: bool = False
    adopted_campaign: bool = False


def _uuid(value: Any) -> UUID | None:
    return value if isinstance(value, UUID) else (UUID(value) if isinstance(value, str) else None)


def scope_of(event_type: str, data: dict[str, Any]) -> EventScope:
    """The scope of a consumed event from its validated payload (`model_dump()` form)."""
    own = {
        org
        for key in ("organization_id", "owner_organization_id", "lead_organization_id")
        if (org := _uuid(data.get(key))) is not None
    }
    contact_org = None
    if event_type == "campaigns.action.recorded" and data.get("contact") is not None:
        contact_org = _uuid(data.get("organization_id"))
    return EventScope(
        event_type=event_type,
        own_orgs=frozenset(own),
        coalition_id=_uuid(data.get("coalition_id")),
        campaign_id=_uuid(data.get("campaign_id")),
        contact_org=contact_org,
        contact_shared_with_coalition=bool(data.get("contact_shared_with_coalition", False)),
    )


def access(scope: EventScope, org: UUID, standing: Standing) -> Access:
    """How much of the event `org`'s endpoints may receive."""
    full_member = standing.coalition_role in FULL_MEMBER_ROLES
    sees = (
        org in scope.own_orgs
        or standing.owns_campaign
        or standing.adopted_campaign
        or full_member
        or (standing.coalition_role == "observer" and scope.public)
    )
    if not sees:
        return Access.NONE
    if scope.contact_org is None:
        return Access.FULL
    if org == scope.contact_org or (scope.contact_shared_with_coalition and full_member):
        return Access.FULL
    return Access.WITHOUT_CONTACT


def redact(data: dict[str, Any], level: Access) -> dict[str, Any]:
    """The event data as `level` allows: without a supporter's contact unless FULL."""
    if level is Access.FULL or "contact" not in data:
        return data
    return {**data, "contact": None}
