"""Coalitions: alliances of organizations around a condition or a policy goal."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from common.errors import Conflict


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class CoalitionStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


EDITABLE_FIELDS = (
    "name",
    "mission",
    "focus_areas",
    "countries",
    "visibility",
    "website",
    "require_current_disclosure",
)


class Coalition(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    slug: str
    name: str
    mission: str
    focus_areas: list[str]
    countries: list[str]
    visibility: Visibility
    website: str | None = None
    # Members must have declared their funding less than a year ago to adopt its campaigns (campaigns
    # enforces it at adoption, from this setting carried on the coalition's events).
    require_current_disclosure: bool = False
    status: CoalitionStatus = CoalitionStatus.ACTIVE
    created_by_org: UUID
    created_at: datetime
    updated_at: datetime

    @property
    def is_public(self) -> bool:
        return self.visibility is Visibility.PUBLIC

    def require_open(self) -> None:
        """Archived coalitions accept no new members or campaigns."""
        if self.status is CoalitionStatus.ARCHIVED:
            raise Conflict("the coalition is archived and accepts no new members", coalition_id=str(self.id))
