"""Events of the coalition service, consumed by campaigns and notifications."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from common.contracts import topics
from common.events import EventPayload

CoalitionRole = Literal["lead", "member", "observer"]
MembershipState = Literal[
    "invited", "applied", "active", "suspended", "declined", "expired", "rejected", "left", "removed"
]
SharingLevel = Literal["aggregate_only", "contacts_with_consent"]
Visibility = Literal["public", "private"]


class _CoalitionEvent(EventPayload):
    topic: ClassVar[str] = topics.COALITION_COALITIONS
    coalition_id: UUID


class CoalitionCreated(_CoalitionEvent):
    event_type: ClassVar[str] = "coalition.coalition.created"
    slug: str
    name: str
    visibility: Visibility
    focus_areas: list[str]
    countries: list[str]
    lead_organization_id: UUID


class CoalitionUpdated(_CoalitionEvent):
    event_type: ClassVar[str] = "coalition.coalition.updated"
    name: str
    visibility: Visibility
    focus_areas: list[str]
    countries: list[str]
    changed_fields: list[str]


class CoalitionArchived(_CoalitionEvent):
    event_type: ClassVar[str] = "coalition.coalition.archived"


class _MembershipEvent(EventPayload):
    """Every membership event carries the membership as it is after the change."""

    topic: ClassVar[str] = topics.COALITION_MEMBERSHIPS
    coalition_id: UUID
    organization_id: UUID
    role: CoalitionRole
    state: MembershipState
    sharing_level: SharingLevel
    actor_organization_id: UUID | None = None
    reason: str | None = None


class MembershipInvited(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.invited"


class MembershipInvitationDeclined(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.invitation_declined"


class MembershipInvitationExpired(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.invitation_expired"


class MembershipApplied(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.applied"


class MembershipApplicationRejected(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.application_rejected"


class MembershipJoined(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.joined"


class MembershipRoleChanged(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.role_changed"
    previous_role: CoalitionRole


class MembershipSuspended(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.suspended"


class MembershipReinstated(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.reinstated"


class MembershipLeft(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.left"


class MembershipRemoved(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.membership.removed"


class SharingAgreementChanged(_MembershipEvent):
    event_type: ClassVar[str] = "coalition.sharing_agreement.changed"
    previous_sharing_level: SharingLevel
    changed_by_user: str


COALITION_EVENTS: tuple[type[EventPayload], ...] = (CoalitionCreated, CoalitionUpdated, CoalitionArchived)
MEMBERSHIP_EVENTS: tuple[type[EventPayload], ...] = (
    MembershipInvited,
    MembershipInvitationDeclined,
    MembershipInvitationExpired,
    MembershipApplied,
    MembershipApplicationRejected,
    MembershipJoined,
    MembershipRoleChanged,
    MembershipSuspended,
    MembershipReinstated,
    MembershipLeft,
    MembershipRemoved,
    SharingAgreementChanged,
)
