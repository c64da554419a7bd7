"""Organizations: the tenants of the platform."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from common.errors import Conflict


class OrgKind(StrEnum):
    PATIENT_ASSOCIATION = "patient_association"
    PROFESSIONAL_SOCIETY = "professional_society"
    COMMUNITY_ORGANIZATION = "community_organization"
    HEALTHCARE_PROVIDER = "healthcare_provider"
    RESEARCH_GROUP = "research_group"
    OTHER = "other"


class OrgStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
_SLUG = re.compile(SLUG_PATTERN)
RESERVED_SLUGS = frozenset({"admin", "api", "platform", "system", "root", "support", "well-known"})
EDITABLE_FIELDS = ("name", "kind", "country", "website", "description")


class Organization(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    slug: str
    name: str
    kind: OrgKind
    country: str
    website: str | None = None
    description: str | None = None
    status: OrgStatus = OrgStatus.ACTIVE
    verified: bool = False
    verified_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    created_by: UUID

    @property
    def is_active(self) -> bool:
        return self.status is OrgStatus.ACTIVE

    def require_active(self) -> None:
        if not self.is_active:
            raise Conflict("the organization is deactivated", organization_id=str(self.id))


def slug_is_allowed(slug: str) -> bool:
    return bool(_SLUG.match(slug)) and "--" not in slug and slug not in RESERVED_SLUGS
