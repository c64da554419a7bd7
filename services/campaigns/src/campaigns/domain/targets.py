"""Decision-makers (targets): their fields, the areas they represent, lookup by postal code, CSV import.

A target represents one country's postal codes: exact codes (`1000`), prefixes (`10*`, a region) or the
whole country (`*`, a national or supranational representative). A supporter's country and postal code
select every target whose area holds the code, whatever their level, so a letter by location reaches
the local, regional, national and supranational representatives of that place at once.
"""

from __future__ import annotations

import csv
import io
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from common.text import ONE_LINE


class Level(StrEnum):
    LOCAL = "local"
    REGIONAL = "regional"
    NATIONAL = "national"
    SUPRANATIONAL = "supranational"


LEVEL_ORDER = {level: n for n, level in enumerate(Level)}
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
POSTAL_PATTERN = re.compile(r"^(\*|[A-Z0-9]{1,12}\*?)$")
MAX_POSTAL_CODES = 5000
MAX_IMPORT_ROWS = 2000
CSV_COLUMNS = (
    "name",
    "title",
    "office",
    "level",
    "jurisdiction",
    "district",
    "email",
    "country",
    "postal_codes",
)
CSV_REQUIRED = ("name", "level", "email", "country")
CSV_OPTIONAL = ("target_id",)  # an existing target of the directory: the row is its next version


def normalise_postal_code(code: str) -> str:
    """The form postal codes are compared in: upper case, without spaces and hyphens."""
    return re.sub(r"[\s-]", "", code).upper()


class TargetFields(BaseModel):
    """What the directory holds about one decision-maker (every version holds all of it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Line
    title: Line | None = None
    office: Line | None = None
    level: Level
    jurisdiction: Line | None = None
    district: Line | None = None
    email: EmailStr = Field(max_length=254)
    country: Country = Field(description="ISO 3166-1 alpha-2 code of the country whose postal codes follow")
    postal_codes: list[str] = Field(
        default_factory=list,
        max_length=MAX_POSTAL_CODES,
        description="Postal codes represented: `1000` exact, `10*` a prefix, `*` the whole country",
    )

    @field_validator("postal_codes")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        normalised = []
        for code in codes:
            if not isinstance(code, str):
                raise ValueError("a postal code is a string")
            value = normalise_postal_code(code)
            if not POSTAL_PATTERN.match(value):
                raise ValueError(
                    f"not a postal code, prefix (ending in *) or * for the whole country: {code[:20]!r}"
                )
            normalised.append(value)
        return sorted(set(normalised))

    def represents(self, country: str, postal_code: str) -> bool:
        return self.country == country and covers(self.postal_codes, postal_code)


def covers(patterns: list[str], postal_code: str) -> bool:
    code = normalise_postal_code(postal_code)
    for pattern in patterns:
        if pattern == "*" or pattern == code or (pattern.endswith("*") and code.startswith(pattern[:-1])):
            return True
    return False


class RowError(BaseModel):
    """One reason a CSV row (1 is the header) cannot be imported."""

    row: int
    field: str
    reason: str


class ParsedRow(BaseModel):
    row: int
    target_id: str | None
    fields: TargetFields


def _split_codes(value: str) -> list[str]:
    return [c for c in re.split(r"[;\s,]+", value.strip()) if c]


def parse_csv(text: str) -> tuple[list[ParsedRow], list[RowError]]:
    """Every row of a directory CSV, validated; the errors of every row (nothing is partial)."""
    errors: list[RowError] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        rows = list(reader)
    except csv.Error as exc:
        return [], [RowError(row=reader.line_num or 1, field="csv", reason=f"not readable as CSV: {exc}")]
    if not rows or not any(cell.strip() for cell in rows[0]):
        return [], [RowError(row=1, field="header", reason="the first row must name the columns")]
    header = [h.strip().lower() for h in rows[0]]
    known = set(CSV_COLUMNS) | set(CSV_OPTIONAL)
    for name in header:
        if name not in known:
            errors.append(RowError(row=1, field=name[:40] or "header", reason="unknown column"))
    for name in CSV_REQUIRED:
        if name not in header:
            errors.append(RowError(row=1, field=name, reason="required column missing"))
    if len(set(header)) != len(header):
        errors.append(RowError(row=1, field="header", reason="a column is named twice"))
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(cell.strip() for cell in r)]
    if not body:
        errors.append(RowError(row=2, field="csv", reason="no rows to import"))
    if len(body) > MAX_IMPORT_ROWS:
        errors.append(
            RowError(row=MAX_IMPORT_ROWS + 2, field="csv", reason=f"at most {MAX_IMPORT_ROWS} rows")
        )
    if errors:
        return [], errors
    parsed: list[ParsedRow] = []
    for number, row in body:
        if len(row) != len(header):
            errors.append(
                RowError(
                    row=number, field="row", reason=f"{len(row)} cells where the header has {len(header)}"
                )
            )
            continue
        cells = {name: cell.strip() for name, cell in zip(header, row, strict=True)}
        values: dict[str, Any] = {k: v for k, v in cells.items() if v and k in CSV_COLUMNS}
        values["postal_codes"] = _split_codes(cells.get("postal_codes", ""))
        if "country" in values:
            values["country"] = values["country"].upper()
        if "level" in values:
            values["level"] = values["level"].lower()
        target_id = cells.get("target_id") or None
        try:
            parsed.append(
                ParsedRow(row=number, target_id=target_id, fields=TargetFields.model_validate(values))
            )
        except ValidationError as exc:
            for e in exc.errors(include_url=False, include_input=False):
                field = str(e["loc"][0]) if e["loc"] else "row"
                errors.append(RowError(row=number, field=field, reason=e["msg"]))
    return ([], errors) if errors else (parsed, [])
