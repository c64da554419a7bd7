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
EDITABLE_FIELDS = (
    "name",
    "kind",
    "country",
    "website",
    "description",
    "logo_url",
    "privacy_notice_url",
    "embed_origins",
)
MAX_EMBED_ORIGINS = 20
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def embed_origin(value: str) -> str:
    """An origin allowed to embed the organization's campaign pages: `https://host[:port]`, nothing more
    (no path, query, fragment or credentials), lower-cased; plain http only for loopback (development)."""
    text = value.strip()
    match = re.fullmatch(r"(https?)://([A-Za-z0-9.-]+|\[::1\])(?::(\d{1,5}))?/?", text)
    if match is None:
        raise ValueError("an embed origin is https://host or https://host:port, without a path")
    scheme, host, port = match.group(1), match.group(2).lower(), match.group(3)
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValueError("an embed origin is served over https (plain http only for localhost)")
    if host.startswith(("-", ".")) or host.endswith(("-", ".")) or ".." in host:
        raise ValueError("an embed origin's host name is malformed")
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError("an embed origin's port is out of range")
    default = "443" if scheme == "https" else "80"
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


class Organization(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    slug: str
    name: str
    kind: OrgKind
    country: str
    website: str | None = None
    description: str | None = None
    logo_url: str | None = None
    privacy_notice_url: str | None = None
    embed_origins: list[str] = []
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
