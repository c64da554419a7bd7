"""Funding disclosures: an organization declares its funders (kind, amount band, year, purpose).

Amounts are never exact: a fixed set of bands, in euros, per year. A declaration is "current" for a year
after it was declared (campaigns decides adoption on that, see docs/decisions/0013)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from common.errors import InvalidInput

MAX_FUNDERS = 100
EARLIEST_YEAR = 1990
FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks differ a little


class FunderKind(StrEnum):
    PHARMACEUTICAL = "pharmaceutical"
    MEDICAL_DEVICE = "medical_device"
    GOVERNMENT = "government"
    FOUNDATION = "foundation"
    INDIVIDUALS = "individuals"
    OTHER = "other"


class AmountBand(StrEnum):
    """Yearly amount in euros (or its equivalent); `undisclosed` when a contract forbids stating it."""

    UNDER_10K = "under_10k"
    FROM_10K_TO_50K = "10k_50k"
    FROM_50K_TO_100K = "50k_100k"
    FROM_100K_TO_250K = "100k_250k"
    FROM_250K_TO_500K = "250k_500k"
    FROM_500K_TO_1M = "500k_1m"
    OVER_1M = "over_1m"
    UNDISCLOSED = "undisclosed"


class Funder(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: FunderKind
    amount_band: AmountBand
    year: int
    purpose: str | None = None


def check_declaration(funders: list[Funder], declared_at: datetime, now: datetime) -> None:
    """Refuse a declaration from the future, a year after the declaration, or one funder listed twice."""
    if declared_at > now + FUTURE_TOLERANCE:
        raise InvalidInput("a declaration cannot be dated in the future", field="declared_at")
    seen: set[tuple[str, str, int]] = set()
    for i, funder in enumerate(funders):
        if funder.year > declared_at.year:
            raise InvalidInput(
                "a funder's year cannot be after the year of the declaration", field=f"funders.{i}.year"
            )
        key = (funder.name.casefold(), funder.kind.value, funder.year)
        if key in seen:
            raise InvalidInput(
                "the same funder of the same kind is listed twice for one year", field=f"funders.{i}"
            )
        seen.add(key)
