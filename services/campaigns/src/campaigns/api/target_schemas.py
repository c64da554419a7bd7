"""Request and response bodies of decision-makers, letter deliveries and petition deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from campaigns.domain.targets import MAX_POSTAL_CODES, Level
from common.text import MULTI_LINE, ONE_LINE

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
PostalPattern = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=14), ONE_LINE
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Owner(Strict):
    organization_id: UUID | None = Field(
        None, description="The organization whose directory (or coalition_id)"
    )
    coalition_id: UUID | None = Field(None, description="The coalition whose directory (or organization_id)")


class TargetCreate(_Owner):
    name: Line
    title: Line | None = None
    office: Line | None = None
    level: Level
    jurisdiction: Line | None = None
    district: Line | None = None
    email: EmailStr = Field(max_length=254)
    country: Country
    postal_codes: list[PostalPattern] = Field(
        default_factory=list,
        max_length=MAX_POSTAL_CODES,
        description="Postal codes represented in `country`: `1000` exact, `10*` a prefix, `*` the whole country",
    )


class TargetUpdate(Strict):
    """The fields to change; every change is a new version."""

    name: Line | None = None
    title: Line | None = None
    office: Line | None = None
    level: Level | None = None
    jurisdiction: Line | None = None
    district: Line | None = None
    email: EmailStr | None = Field(None, max_length=254)
    country: Country | None = None
    postal_codes: list[PostalPattern] | None = Field(None, max_length=MAX_POSTAL_CODES)


class TargetImport(_Owner):
    csv: Annotated[str, StringConstraints(min_length=1, max_length=60_000), MULTI_LINE] = Field(
        description=(
            "UTF-8 CSV with a header row: name, level, email, country (required), title, office, "
            "jurisdiction, district, postal_codes (separated by spaces or semicolons), target_id (to "
            "update an existing target of the directory)"
        )
    )


class TargetRead(BaseModel):
    id: UUID
    version: int = Field(description="Each change makes a new version; letters record the one they went to")
    organization_id: UUID | None
    coalition_id: UUID | None
    name: str
    title: str | None
    office: str | None
    level: Level
    jurisdiction: str | None
    district: str | None
    email: str
    country: str
    postal_codes: list[str]
    retired: bool
    updated_at: datetime


class TargetPage(BaseModel):
    items: list[TargetRead]
    next_cursor: str | None


class ImportReport(BaseModel):
    created: int
    updated: int
    targets: list[TargetRead]


class PublicTarget(BaseModel):
    """A decision-maker a letter will go to (no e-mail address, no postal codes)."""

    target_id: UUID | None = Field(description="Null for a name the campaign only shows on the letter")
    version: int | None
    name: str
    title: str | None = None
    office: str | None = None
    level: Level | None = None
    jurisdiction: str | None = None
    district: str | None = None


class PublicTargets(BaseModel):
    campaign_id: UUID
    targeting: Literal["fixed", "by_location"]
    recipients: list[PublicTarget] = Field(description="Who the letter is e-mailed to")
    named: list[PublicTarget] = Field(description="Further names shown on the letter, not e-mailed")


class LetterDeliveryRead(BaseModel):
    id: UUID
    letter_id: UUID
    organization_id: UUID = Field(description="The organization whose link the letter came through")
    target_id: UUID
    target_version: int
    target_name: str
    state: Literal["queued", "sent", "failed"]
    reason: str | None = Field(description="Why the last attempt failed (final when the state is failed)")
    attempts_failed: int
    sent_at: datetime | None
    updated_at: datetime


class LetterDeliveryPage(BaseModel):
    items: list[LetterDeliveryRead]
    next_cursor: str | None


class PetitionDeliveryCreate(Strict):
    method: Literal["download", "email"] = Field(
        description="`download`: a manager hands it over (delivered now); `email`: mailed to the target"
    )
    target_id: UUID | None = Field(
        None, description="A target of the campaign's directories (needed to e-mail); else the petition's own"
    )
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), MULTI_LINE] | None = (
        None
    )


class DeliveredTargetRead(BaseModel):
    target_id: UUID | None
    target_version: int | None
    name: str
    office: str | None


class PetitionDeliveryRead(BaseModel):
    id: UUID
    campaign_id: UUID
    target: DeliveredTargetRead
    method: Literal["download", "email"]
    state: Literal["queued", "delivered", "failed"]
    reason: str | None
    total_signatures: int
    by_region: dict[str, int]
    by_organization: dict[str, int]
    named_signatories: int = Field(description="Signatories named in the documents (with their consent)")
    created_at: datetime
    delivered_at: datetime | None
    pdf_url: str
    csv_url: str


class PetitionDeliveryPage(BaseModel):
    items: list[PetitionDeliveryRead]
    next_cursor: str | None
