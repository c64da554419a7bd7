"""Request and response bodies of the identity API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)

from common.text import MULTI_LINE, ONE_LINE
from identity.domain.disclosures import EARLIEST_YEAR, MAX_FUNDERS, AmountBand, FunderKind
from identity.domain.memberships import OrgRole
from identity.domain.oauth import OAuthErrorCode
from identity.domain.organizations import (
    COUNTRY_PATTERN,
    LOOPBACK_HOSTS,
    MAX_EMBED_ORIGINS,
    SLUG_PATTERN,
    OrgKind,
    OrgStatus,
    embed_origin,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), MULTI_LINE]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=3, max_length=63)]
Country = Annotated[
    str, StringConstraints(pattern=COUNTRY_PATTERN), Field(description="ISO 3166-1 alpha-2 code, e.g. DE")
]
Password = Annotated[str, Field(min_length=1, max_length=1024)]  # a secret, never shown: any character
Token = Annotated[str, StringConstraints(min_length=10, max_length=200), ONE_LINE]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(Strict):
    email: EmailStr
    password: Password
    display_name: Name


class UserUpdate(Strict):
    display_name: Name


class PasswordChange(Strict):
    current_password: Password
    new_password: Password


class MembershipSummary(BaseModel):
    organization_id: UUID
    organization_slug: str
    organization_name: str
    role: OrgRole


class UserRead(BaseModel):
    id: UUID
    email: str = Field(description="Canonical form: NFKC, case-folded, the domain in IDNA A-labels")
    display_name: str
    platform_admin: bool
    created_at: datetime
    email_verified_at: datetime | None = Field(
        None, description="When the user proved they own the address; needed before joining organizations"
    )


class EmailVerificationSent(BaseModel):
    email: str
    expires_at: datetime
    token: str | None = Field(
        None,
        description="Development and test only: the single-use token that the e-mailed link carries. "
        "Elsewhere it reaches the user only by e-mail.",
    )


class EmailVerificationConfirm(Strict):
    token: Token


class ProfileRead(UserRead):
    memberships: list[MembershipSummary]


def _https(value: AnyHttpUrl) -> AnyHttpUrl:
    if value.scheme != "https" and value.host not in LOOPBACK_HOSTS:
        raise ValueError("the address must use https")
    return value


def _origins(values: list[str]) -> list[str]:
    origins = [embed_origin(v) for v in values]
    return sorted(set(origins))


HttpsUrl = Annotated[AnyHttpUrl, AfterValidator(_https), Field(max_length=2000)]
EmbedOrigins = Annotated[
    list[Annotated[str, StringConstraints(max_length=300), ONE_LINE]],
    Field(max_length=MAX_EMBED_ORIGINS),
    AfterValidator(_origins),
    Field(description="Origins (https://host[:port]) allowed to embed the organization's campaign pages"),
]


class OrganizationCreate(Strict):
    slug: Slug
    name: Name
    kind: OrgKind
    country: Country
    website: AnyHttpUrl | None = None
    description: Description | None = None
    logo_url: HttpsUrl | None = Field(None, description="The logo shown on campaign pages (https)")
    privacy_notice_url: HttpsUrl | None = Field(
        None, description="The privacy notice campaign pages link to (https)"
    )
    embed_origins: EmbedOrigins = []


class OrganizationUpdate(Strict):
    name: Name | None = None
    kind: OrgKind | None = None
    country: Country | None = None
    website: AnyHttpUrl | None = None
    description: Description | None = None
    logo_url: HttpsUrl | None = None
    privacy_notice_url: HttpsUrl | None = None
    embed_origins: EmbedOrigins | None = None

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_unset=True, mode="json")
        clearable = ("website", "description", "logo_url", "privacy_notice_url")
        return {k: v for k, v in values.items() if v is not None or k in clearable}


class OrganizationRead(BaseModel):
    id: UUID
    slug: str
    name: str
    kind: OrgKind
    country: str
    website: str | None
    description: str | None
    logo_url: str | None = None
    privacy_notice_url: str | None = None
    embed_origins: list[str] = []
    status: OrgStatus
    verified: bool
    created_at: datetime
    updated_at: datetime


class OrganizationPage(BaseModel):
    items: list[OrganizationRead]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page")


class Deactivation(Strict):
    reason: Annotated[str, StringConstraints(max_length=500), MULTI_LINE] | None = None


class MemberRead(BaseModel):
    user_id: UUID
    display_name: str
    email: str
    role: OrgRole
    joined_at: datetime


class RoleChange(Strict):
    role: OrgRole


class InvitationCreate(Strict):
    email: EmailStr
    role: OrgRole = OrgRole.MEMBER


class InvitationRead(BaseModel):
    id: UUID
    organization_id: UUID
    email: str
    role: OrgRole
    status: str
    expires_at: datetime
    created_at: datetime


class InvitationCreated(InvitationRead):
    token: str = Field(description="Single-use; shown only now. The invitee accepts with it.")


class InvitationAccept(Strict):
    token: Token


class ClientCreate(Strict):
    name: Name
    scopes: list[Annotated[str, StringConstraints(max_length=64), ONE_LINE]] = Field(
        min_length=1, max_length=20
    )


class ClientRead(BaseModel):
    client_id: str
    organization_id: UUID
    name: str
    scopes: list[str]
    status: str
    created_at: datetime


class ClientCreated(ClientRead):
    client_secret: str = Field(description="Shown only now; store it safely. Only its hash is kept.")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str
    refresh_token: str | None = None


class KeyRotated(BaseModel):
    kid: str


class OAuthErrorBody(BaseModel):
    """An error of the token or revocation endpoint (RFC 6749 section 5.2)."""

    error: OAuthErrorCode
    error_description: str


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 metadata. No authorization endpoint exists, so no response type is supported."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str] = Field(
        description="Empty: there is no authorization endpoint (no code or implicit flow)"
    )
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]


Purpose = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), ONE_LINE]


class FunderIn(Strict):
    name: Name
    kind: FunderKind
    amount_band: AmountBand = Field(description="Yearly amount in euros (or equivalent), as a band")
    year: int = Field(ge=EARLIEST_YEAR, le=2100, description="The year the funding was for")
    purpose: Purpose | None = None


class DisclosuresPut(Strict):
    funders: list[FunderIn] = Field(max_length=MAX_FUNDERS, description="Every funder; [] declares none")
    declared_at: AwareDatetime | None = Field(
        None, description="When the organization made this declaration (default: now); never in the future"
    )


class DisclosuresRead(BaseModel):
    organization_id: UUID
    funders: list[FunderIn]
    declared_at: datetime | None = Field(description="Null until the organization declares")
    declared_by: UUID | None
    updated_at: datetime | None
