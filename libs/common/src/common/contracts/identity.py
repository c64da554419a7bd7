"""Events of the identity service. No password hashes, secrets or tokens ever appear here."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from common.contracts import topics
from common.events import EventPayload

OrgKind = Literal[
    "patient_association",
    "professional_society",
    "community_organization",
    "healthcare_provider",
    "research_group",
    "other",
]
OrgRole = Literal["owner", "admin", "organizer", "member"]


class _OrganizationEvent(EventPayload):
    topic: ClassVar[str] = topics.IDENTITY_ORGANIZATIONS
    organization_id: UUID


class OrganizationRegistered(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.organization.registered"
    slug: str
    name: str
    kind: OrgKind
    country: str
    website: str | None = None
    logo_url: str | None = None
    privacy_notice_url: str | None = None
    embed_origins: list[str] = []  # origins allowed to embed its campaign pages (CORS, frame-ancestors)
    registered_by: UUID


class OrganizationUpdated(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.organization.updated"
    slug: str
    name: str
    kind: OrgKind
    country: str
    website: str | None = None
    logo_url: str | None = None
    privacy_notice_url: str | None = None
    embed_origins: list[str] = []
    changed_fields: list[str]


class OrganizationVerified(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.organization.verified"
    verified_by: UUID


class OrganizationDeactivated(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.organization.deactivated"
    deactivated_by: UUID
    reason: str | None = None


class MembershipGranted(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.membership.granted"
    user_id: UUID
    role: OrgRole


class MembershipRoleChanged(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.membership.role_changed"
    user_id: UUID
    previous_role: OrgRole
    role: OrgRole
    changed_by: UUID


class MembershipRevoked(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.membership.revoked"
    user_id: UUID
    revoked_by: UUID


class InvitationCreated(_OrganizationEvent):
    """An invitation by e-mail; the single-use token is not in the event."""

    event_type: ClassVar[str] = "identity.invitation.created"
    invitation_id: UUID
    email: str
    role: OrgRole
    expires_at: datetime
    invited_by: UUID


class InvitationAccepted(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.invitation.accepted"
    invitation_id: UUID
    user_id: UUID


class ApiClientCreated(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.api_client.created"
    client_id: str
    name: str
    scopes: list[str]
    created_by: UUID


class ApiClientRevoked(_OrganizationEvent):
    event_type: ClassVar[str] = "identity.api_client.revoked"
    client_id: str
    revoked_by: UUID


class UserRegistered(EventPayload):
    topic: ClassVar[str] = topics.IDENTITY_USERS
    event_type: ClassVar[str] = "identity.user.registered"
    user_id: UUID
    email: str
    display_name: str


FunderKind = Literal["pharmaceutical", "medical_device", "government", "foundation", "individuals", "other"]
AmountBand = Literal[
    "under_10k", "10k_50k", "50k_100k", "100k_250k", "250k_500k", "500k_1m", "over_1m", "undisclosed"
]


class Funder(BaseModel):
    """One funder of an organization's declaration: amounts are bands in euros (a fixed set), per year."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: FunderKind
    amount_band: AmountBand
    year: int
    purpose: str | None = None


class OrganizationDisclosuresUpdated(_OrganizationEvent):
    """The organization's funding declaration, whole, as it is after the change (public information)."""

    event_type: ClassVar[str] = "identity.organization.disclosures_updated"
    funders: list[Funder]
    declared_at: datetime  # when the organization declared it (what "current" is measured from)
    updated_by: UUID


ORGANIZATION_EVENTS: tuple[type[EventPayload], ...] = (
    OrganizationRegistered,
    OrganizationUpdated,
    OrganizationVerified,
    OrganizationDeactivated,
    MembershipGranted,
    MembershipRoleChanged,
    MembershipRevoked,
    InvitationCreated,
    InvitationAccepted,
    ApiClientCreated,
    ApiClientRevoked,
    OrganizationDisclosuresUpdated,
)


class EmailVerificationRequested(EventPayload):
    """A user asked to prove they own their e-mail address; the single-use token is not in the event."""

    topic: ClassVar[str] = topics.IDENTITY_USERS
    event_type: ClassVar[str] = "identity.user.email_verification_requested"
    user_id: UUID
    verification_id: UUID
    email: str
    expires_at: datetime


class EmailVerified(EventPayload):
    topic: ClassVar[str] = topics.IDENTITY_USERS
    event_type: ClassVar[str] = "identity.user.email_verified"
    user_id: UUID
    email: str


USER_EVENTS: tuple[type[EventPayload], ...] = (UserRegistered, EmailVerificationRequested, EmailVerified)
