"""Funding disclosures and conflicts of interest: what is current, and the refusal when one is needed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from campaigns.domain.details import Strict
from common.errors import Conflict
from common.text import MULTI_LINE

CURRENT_FOR = timedelta(days=365)

Statement = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), MULTI_LINE
]


class DisclosureRequired(Conflict):
    code, title = "disclosure-required", "Disclosure required"


class ConflictsIn(Strict):
    organization_id: UUID = Field(description="The organization declaring (the owner or an adopter)")
    statement: Statement = Field(
        description="Its conflicts of interest relevant to this campaign, or that it has none"
    )


def is_current(declared_at: datetime | None, now: datetime) -> bool:
    """A declaration is current for a year after it was made."""
    return declared_at is not None and now - declared_at < CURRENT_FOR
