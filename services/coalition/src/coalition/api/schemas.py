"""Request and response bodies of the coalition API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from coalition.domain.coalitions import CoalitionStatus, Visibility
from coalition.domain.memberships import CoalitionRole, MembershipState, SharingLevel
from common.text import MULTI_LINE, ONE_LINE

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), MULTI_LINE]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=80), ONE_LINE
]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoalitionCreate(Strict):
    organization_id: UUID = Field(description="The organization creating it; it becomes the first lead")
    slug: Slug
    name: Name
    mission: Text
    focus_areas: list[Tag] = Field(
        default_factory=list, max_length=30, description="Conditions, policy themes"
    )
    countries: list[Country] = Field(default_factory=list, max_length=250)
    visibility: Visibility = Visibility.PUBLIC
    website: AnyHttpUrl | None = None
    require_current_disclosure: StrictBool = Field(
        False,
        description="Members must have declared their funding (identity) less than a year ago before "
        "adopting the coalition's campaigns",
    )


class CoalitionUpdate(Strict):
    name: Name | None = None
    mission: Text | None = None
    focus_areas: list[Tag] | None = Field(None, max_length=30)
    countries: list[Country] | None = Field(None, max_length=250)
    visibility: Visibility | None = None
    website: AnyHttpUrl | None = None
    require_current_disclosure: StrictBool | None = None

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_unset=True, mode="json")
        return {k: v for k, v in values.items() if v is not None or k == "website"}


class CoalitionRead(BaseModel):
    id: UUID
    slug: str
    name: str
    mission: str
    focus_areas: list[str]
    countries: list[str]
    visibility: Visibility
    website: str | None
    require_current_disclosure: bool = Field(
        description="Members need a funding declaration less than a year old to adopt its campaigns"
    )
    status: CoalitionStatus
    created_by_org: UUID
    created_at: datetime
    updated_at: datetime


class CoalitionPage(BaseModel):
    items: list[CoalitionRead]
    next_cursor: str | None = None


class Invite(Strict):
    organization_id: UUID
    role: CoalitionRole = CoalitionRole.MEMBER


class Application(Strict):
    organization_id: UUID
    message: Annotated[str, StringConstraints(max_length=1000), MULTI_LINE] | None = None


class RoleChange(Strict):
    role: CoalitionRole


class Reason(Strict):
    reason: Annotated[str, StringConstraints(max_length=500), MULTI_LINE] | None = None


class SharingChange(Strict):
    level: SharingLevel


class SharingProposalRead(BaseModel):
    level: SharingLevel
    proposed_at: datetime
    proposed_by_organization_id: UUID | None = Field(
        None, description="The lead organization that proposed it (none when the service carried it over)"
    )


class MembershipRead(BaseModel):
    coalition_id: UUID
    organization_id: UUID
    organization_name: str | None = None
    role: CoalitionRole
    state: MembershipState
    sharing_level: SharingLevel | None = Field(
        None,
        description=(
            "The effective data-sharing agreement: contacts_with_consent only once the member organization "
            "accepted it. Shown to leads and members, not observers"
        ),
    )
    sharing_proposal: SharingProposalRead | None = Field(
        None,
        description="A proposal awaiting the member organization's acceptance (leads and members see it)",
    )
    sharing_accepted_at: datetime | None = Field(
        None, description="When the member organization accepted the agreement in force"
    )
    expires_at: datetime | None = None
    updated_at: datetime


class OrganizationCoalition(BaseModel):
    coalition: CoalitionRead
    role: CoalitionRole
    state: MembershipState
