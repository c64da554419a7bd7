"""Events of the coalition service, consumed by campaigns and notifications."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

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
    # Members must have declared their funding less than a year ago before adopting its campaigns.
    require_current_disclosure: bool = False


class CoalitionUpdated(_CoalitionEvent):
    event_type: ClassVar[str] = "coalition.coalition.updated"
    name: str
    visibility: Visibility
    focus_areas: list[str]
    countries: list[str]
    changed_fields: list[str]
    require_current_disclosure: bool = False


class CoalitionArchived(_CoalitionEvent):
    event_type: ClassVar[str] = "coalition.coalition.archived"


class _MembershipEvent(EventPayload):
    """Every membership event carries the membership as it is after the change.

    `sharing_level` is the effective data-sharing agreement: `contacts_with_consent` only once the
    member organization itself accepted it, so a consumer may share contacts on it alone.
    """

    topic: ClassVar[str] = topics.COALITION_MEMBERSHIPS
    coalition_id: UUID
    organization_id: UUID
    role: CoalitionRole
    state: MembershipState
    sharing_level: SharingLevel = Field(
        description="The effective agreement: contacts_with_consent only once the member organization accepted"
    )
    actor_organization_id: UUID | None = None
    reason: str | None = None
    proposed_sharing_level: SharingLevel | None = Field(
        None, description="A level a lead proposed that awaits the member organization's acceptance"
    )


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


class CoalitionMembershipRoleChanged(_MembershipEvent):
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
    """The effective level moved: the member accepted a proposal, either side went back to aggregates
    only, or an agreement without the member's acceptance was reset (`reason`)."""

    event_type: ClassVar[str] = "coalition.sharing_agreement.changed"
    previous_sharing_level: SharingLevel
    changed_by_user: str = Field(description="Who accepted or withdrew; `coalition-service` for a reset")
    proposed_by_organization_id: UUID | None = Field(
        None, description="On acceptance: the lead organization whose proposal was accepted"
    )
    proposed_by_user: str | None = Field(None, description="On acceptance: who proposed it")


class SharingAgreementProposed(_MembershipEvent):
    """A lead proposed `proposed_sharing_level`; `sharing_level` stays as it was until the member accepts."""

    event_type: ClassVar[str] = "coalition.sharing_agreement.proposed"
    proposed_by_user: str


class SharingAgreementDeclined(_MembershipEvent):
    """The member organization refused a pending proposal; `sharing_level` is unchanged."""

    event_type: ClassVar[str] = "coalition.sharing_agreement.declined"
    declined_by_user: str


class SharingAgreementProposalWithdrawn(_MembershipEvent):
    """A lead took back its pending proposal; `sharing_level` is unchanged."""

    event_type: ClassVar[str] = "coalition.sharing_agreement.proposal_withdrawn"
    withdrawn_by_user: str


COALITION_EVENTS: tuple[type[EventPayload], ...] = (CoalitionCreated, CoalitionUpdated, CoalitionArchived)
MEMBERSHIP_EVENTS: tuple[type[EventPayload], ...] = (
    MembershipInvited,
    MembershipInvitationDeclined,
    MembershipInvitationExpired,
    MembershipApplied,
    MembershipApplicationRejected,
    MembershipJoined,
    CoalitionMembershipRoleChanged,
    MembershipSuspended,
    MembershipReinstated,
    MembershipLeft,
    MembershipRemoved,
    SharingAgreementChanged,
    SharingAgreementProposed,
    SharingAgreementDeclined,
    SharingAgreementProposalWithdrawn,
)
