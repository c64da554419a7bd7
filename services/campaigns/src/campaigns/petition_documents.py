"""The documents of a petition delivery: a PDF to hand over and a CSV of the same facts.

Both hold the petition's text, whom it is addressed to, the total, signatures per region (country and
the first two characters of the postal code) and per organization, and the names and places of the
signatories who agreed to appear in the delivery, and of nobody else. The PDF is written with fpdf2
in DejaVu Sans (shipped with matplotlib), so names in Latin, Greek and Cyrillic scripts print as given.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from campaigns.fonts import dejavu

FONT = "DejaVu"


@dataclass(frozen=True)
class PetitionFacts:
    title: str
    text: str
    addressed_to: str  # name, and office when known
    total: int
    by_region: list[tuple[str, int]]
    by_organization: list[tuple[str, int]]
    signatories: list[tuple[str, str]]  # name, place: only those who consented to appear
    generated_at: datetime


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def petition_csv(facts: PetitionFacts) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["record", "key", "value"])
    writer.writerow(["petition", "title", _cell(facts.title)])
    writer.writerow(["petition", "text", _cell(facts.text)])
    writer.writerow(["petition", "addressed_to", _cell(facts.addressed_to)])
    writer.writerow(["total", "signatures", facts.total])
    for region, count in facts.by_region:
        writer.writerow(["region", _cell(region), count])
    for organization, count in facts.by_organization:
        writer.writerow(["organization", _cell(organization), count])
    for name, place in facts.signatories:
        writer.writerow(["signatory", _cell(name), _cell(place)])
    return out.getvalue().encode("utf-8")


def petition_pdf(facts: PetitionFacts) -> bytes:
    from fpdf import FPDF  # here, not at the top: campaigns.fonts says why

    pdf = FPDF(format="A4")
    pdf.set_title(facts.title)
    pdf.set_creator("Coalition platform")
    pdf.add_font(FONT, fname=dejavu())
    pdf.add_font(FONT, style="B", fname=dejavu(bold=True))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font(FONT, "B", size)
        pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=10)

    def line(text: str) -> None:
        pdf.multi_cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")

    heading(facts.title, 16)
    line(f"To: {facts.addressed_to}")
    line(f"Delivered on {facts.generated_at:%Y-%m-%d %H:%M} UTC")
    pdf.ln(3)
    heading("The petition")
    line(facts.text)
    pdf.ln(3)
    heading(f"Signatures: {facts.total}")
    heading("Per region", 11)
    for region, count in facts.by_region:
        line(f"{region}: {count}")
    heading("Per organization", 11)
    for organization, count in facts.by_organization:
        line(f"{organization}: {count}")
    pdf.ln(3)
    heading(f"Signatories who agreed to be named ({len(facts.signatories)})")
    for name, place in facts.signatories:
        line(f"{name} - {place}" if place else name)
    return bytes(pdf.output())
