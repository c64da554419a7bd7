"""Impact reports rendered: charts (matplotlib, server-side PNG), the HTML page (Jinja2) and the PDF
(fpdf2, with the DejaVu font matplotlib ships, so any script prints). Pure: data in, bytes out.

The report's data is gathered by `campaigns.usecases.impact`; a public report is the same data with
every free text left out (report-backs, notes), so it holds no personal data by construction.
"""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from jinja2 import Environment, PackageLoader, select_autoescape

from campaigns.fonts import dejavu

if TYPE_CHECKING:  # imported where a chart or PDF is made (campaigns.fonts says why)
    from fpdf import FPDF
    from matplotlib.figure import Figure
_EPOCH = date(1970, 1, 1)
_RENDER_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe
_TEMPLATES = Environment(
    loader=PackageLoader("campaigns", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class GoalLine:
    """An outcome goal with its measurements (notes only in the managers' report)."""

    indicator: str
    unit: str
    baseline: float
    target: float
    direction: str
    deadline: datetime
    data_source: str
    percent: float
    latest_value: float | None
    verdict: str | None
    statement: str | None
    milestones: list[int]
    measurements: list[dict[str, Any]]  # measured_on (date), value, percent, source, evidence_url, note
    campaign_title: str | None = None


@dataclass(frozen=True)
class MeetingLine:
    starts_at: datetime
    time_zone: str
    targets: list[str]
    organization: str
    outcome: str | None
    follow_up_needed: bool
    commitments: str | None = None
    follow_up: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class CampaignImpact:
    id: UUID
    title: str
    kind: str
    status: str
    goal_metric: str
    goal_target: int
    goal_value: int
    goal_percent: float
    counts: dict[str, int]
    by_organization: dict[str, int]  # organization name -> actions
    daily: list[tuple[date, int]]  # actions per day
    milestones: list[dict[str, Any]]
    letters: list[dict[str, Any]]  # target_name, state, count
    petitions: list[dict[str, Any]]  # target_name, total, method, state, delivered_at
    meetings: list[MeetingLine]
    disclosures: list[dict[str, Any]]  # organization, declared_at, current, funders, conflicts


@dataclass(frozen=True)
class ImpactReport:
    title: str
    scope: str  # campaign | coalition
    public: bool
    generated_at: datetime
    campaigns: list[CampaignImpact]
    goals: list[GoalLine]
    charts: dict[str, bytes] = field(default_factory=dict)

    @property
    def by_organization(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for c in self.campaigns:
            for org, n in c.by_organization.items():
                total[org] = total.get(org, 0) + n
        return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))


# ---- charts ----------------------------------------------------------------------------------------


def _days(days: list[date]) -> list[float]:
    """Dates as matplotlib's date numbers (days since its default epoch, 1970-01-01)."""
    return [float((d - _EPOCH).days) for d in days]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=96)


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png")
    return out.getvalue()


def progress_chart(report: ImpactReport) -> bytes:
    """Line chart: each goal's progress (percent of the way from baseline to target) over time."""
    fig = _figure(7.5, 3.4)
    ax = fig.add_subplot()
    for c in report.campaigns:
        running, points = 0, []
        for day, n in c.daily:
            running += n
            points.append(
                (day, min(100.0, 100.0 * running / c.goal_target) if c.goal_metric == "actions" else None)
            )
        shown = [(d, p) for d, p in points if p is not None]
        if shown:
            ax.plot(
                _days([d for d, _ in shown]),
                [p for _, p in shown],
                marker="o",
                label=f"{c.title[:40]} (actions)",
            )
    for g in report.goals:
        if g.measurements:
            ax.plot(
                _days([m["measured_on"] for m in g.measurements]),
                [m["percent"] for m in g.measurements],
                marker="s",
                label=g.indicator[:48],
            )
    ax.set_ylim(0, 105)
    ax.xaxis_date()
    ax.set_ylabel("% of the way to the target")
    ax.set_title("Progress towards the goals over time")
    ax.grid(alpha=0.3)
    if ax.get_lines():
        ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return _png(fig)


def organizations_chart(report: ImpactReport) -> bytes:
    """Bars: actions per organization."""
    data = report.by_organization
    fig = _figure(7.5, max(2.0, 0.45 * len(data) + 1.2))
    ax = fig.add_subplot()
    names = [n[:40] for n in data] or ["(no actions yet)"]
    ax.barh(names, list(data.values()) or [0], color="#2a7ab0")
    ax.invert_yaxis()
    ax.set_xlabel("actions")
    ax.set_title("Actions per organization")
    fig.tight_layout()
    return _png(fig)


def actions_chart(report: ImpactReport) -> bytes:
    """Line chart: actions per day, all campaigns of the report."""
    per_day: dict[date, int] = {}
    for c in report.campaigns:
        for day, n in c.daily:
            per_day[day] = per_day.get(day, 0) + n
    days = sorted(per_day)
    fig = _figure(7.5, 2.8)
    ax = fig.add_subplot()
    ax.plot(_days(days), [per_day[d] for d in days], marker="o", color="#b0542a")
    ax.set_ylabel("actions")
    ax.set_title("Actions over time")
    ax.xaxis_date()
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _png(fig)


def with_charts(report: ImpactReport) -> ImpactReport:
    with _RENDER_LOCK:
        charts = {
            "progress": progress_chart(report),
            "organizations": organizations_chart(report),
            "actions": actions_chart(report),
        }
    return replace(report, charts=charts)


# ---- HTML and PDF ----------------------------------------------------------------------------------

CHART_TITLES = {
    "progress": "Progress towards the goals over time",
    "organizations": "Actions per organization",
    "actions": "Actions over time",
}


def render_html(report: ImpactReport) -> str:
    report = with_charts(report)
    images = {name: base64.b64encode(png).decode() for name, png in report.charts.items()}
    return _TEMPLATES.get_template("impact_report.html").render(
        report=report, images=images, chart_titles=CHART_TITLES
    )


def _new_pdf() -> FPDF:
    """An A4 document in DejaVu whose pages say their number at the foot."""
    from fpdf import FPDF

    class NumberedPages(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", size=8)
            self.cell(0, 8, f"Page {self.page_no()}", align="C")

    pdf = NumberedPages(format="A4")
    pdf.add_font("DejaVu", "", dejavu())
    pdf.add_font("DejaVu", "B", dejavu(bold=True))
    return pdf


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def render_pdf(report: ImpactReport) -> bytes:
    report = with_charts(report)
    pdf = _new_pdf()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 10)

    def line(text: str) -> None:
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")

    heading(f"Impact report: {report.title}", 16)
    line(
        f"{'Public report' if report.public else 'For managers'}; generated {report.generated_at:%Y-%m-%d %H:%M} UTC"
    )
    for name in ("progress", "organizations", "actions"):
        pdf.ln(2)
        pdf.image(io.BytesIO(report.charts[name]), w=180)
    if report.goals:
        heading("Outcome goals")
        for g in report.goals:
            line(
                f"{g.indicator} ({g.unit}): baseline {_number(g.baseline)}, target {_number(g.target)} "
                f"({g.direction}) by {g.deadline:%Y-%m-%d}; latest {_number(g.latest_value)}, "
                f"{g.percent:g} % of the way; source: {g.data_source}"
            )
            if g.verdict:
                line(f"  Verdict: {g.verdict.replace('_', ' ')}. {g.statement or ''}")
            for m in g.measurements:
                extra = f" - {m['note']}" if m.get("note") else ""
                line(f"  {m['measured_on']}: {_number(m['value'])} ({m['percent']:g} %){extra}")
    for c in report.campaigns:
        heading(f"Campaign: {c.title}")
        line(
            f"{c.kind}, {c.status}; goal {c.goal_metric}: {c.goal_value} of {c.goal_target} "
            f"({c.goal_percent:g} %); milestones reached: "
            + (", ".join(f"{m['milestone']} %" for m in c.milestones) or "none")
        )
        line("Actions: " + (", ".join(f"{k} {v}" for k, v in sorted(c.counts.items())) or "none"))
        for org, n in c.by_organization.items():
            line(f"  {org}: {n}")
        if c.letters:
            line("Letters to decision-makers:")
            for row in c.letters:
                line(f"  {row['target_name']}: {row['count']} {row['state']}")
        if c.petitions:
            line("Petition deliveries:")
            for p in c.petitions:
                line(f"  {p['target_name']}: {p['total']} signatures, {p['method']}, {p['state']}")
        if c.meetings:
            line("Meetings:")
            for mt in c.meetings:
                line(
                    f"  {mt.starts_at:%Y-%m-%d %H:%M} UTC with {', '.join(mt.targets)} ({mt.organization}): "
                    f"{(mt.outcome or 'not reported').replace('_', ' ')}"
                    + ("; follow-up needed" if mt.follow_up_needed else "")
                )
                for label, text in (
                    ("Commitments", mt.commitments),
                    ("Follow-up", mt.follow_up),
                    ("Notes", mt.notes),
                ):
                    if text:
                        line(f"    {label}: {text}")
        if c.disclosures:
            line("Disclosures:")
            for d in c.disclosures:
                funders = "; ".join(
                    f"{f['name']} ({f['kind']}, {f['amount_band']}, {f['year']})" for f in d["funders"]
                )
                line(f"  {d['organization']}: {funders or 'no funding declaration'}")
                if d.get("conflicts"):
                    line(f"    Conflicts of interest: {d['conflicts']}")
    return bytes(pdf.output())
