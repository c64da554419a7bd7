"""Impact reports of a campaign and of a coalition: what the report shows, gathered for its readers.

Managers read the whole report (HTML and PDF); a campaign's managers may publish its public version on
the campaign's public links. The public version leaves out every free text (report-backs, measurement
notes), so it never holds a supporter's name or address: only organizations, decision-makers and counts.
"""

from __future__ import annotations

import asyncio
from datetime import date
from uuid import UUID

from campaigns.domain.campaigns import PUBLIC_STATUSES, Campaign
from campaigns.domain.outcomes import OutcomeGoal
from campaigns.reporting import CampaignImpact, GoalLine, ImpactReport, MeetingLine, render_html, render_pdf
from campaigns.usecases.base import WRITE_SCOPE
from campaigns.usecases.disclosures import Disclosures
from common.auth import Principal
from common.errors import Forbidden, NotFound
from common.events import utcnow
from common.mongo import Document, in_transaction


class Impact(Disclosures):
    """Impact reports and their publication."""

    async def _names(self, org_ids: list[UUID]) -> dict[UUID, str]:
        known = await self.advocacy.orgs(org_ids)
        return {o: str(known.get(o, {}).get("name") or f"Organization {str(o)[:8]}") for o in org_ids}

    async def _goal_lines(
        self, goals: list[OutcomeGoal], public: bool, titles: dict[UUID, str]
    ) -> list[GoalLine]:
        measured: dict[UUID, list[Document]] = {g.id: [] for g in goals}
        for doc in await self.advocacy.measurements_of(list(measured)):
            measured[doc["goal_id"]].append(doc)
        lines = []
        for g in goals:
            lines.append(
                GoalLine(
                    indicator=g.indicator,
                    unit=g.unit,
                    baseline=g.baseline,
                    target=g.target,
                    direction=g.direction.value,
                    deadline=g.deadline,
                    data_source=g.data_source,
                    percent=g.percent(g.latest_value),
                    latest_value=g.latest_value,
                    verdict=g.verdict.value if g.verdict else None,
                    statement=g.statement,
                    milestones=sorted(g.reached),
                    measurements=[
                        {
                            "measured_on": date.fromisoformat(m["measured_on"]),
                            "value": m["value"],
                            "percent": g.percent(m["value"]),
                            "source": m.get("source"),
                            "evidence_url": m.get("evidence_url"),
                            "note": None if public else m.get("note"),
                        }
                        for m in measured[g.id]
                    ],
                    campaign_title=titles.get(g.campaign_id) if g.campaign_id else None,
                )
            )
        return lines

    async def _campaign_impact(self, campaign: Campaign, public: bool) -> CampaignImpact:
        stats = await self.repo.get_stats(campaign.id)
        links = await self.repo.links_of_campaign(campaign.id)
        org_ids = list(dict.fromkeys([campaign.owner_org_id, *(d["org_id"] for d in links)]))
        org_ids += [UUID(o) for o in stats["by_org"] if UUID(o) not in org_ids]
        names = await self._names(org_ids)
        goal = campaign.goal
        value = goal.value(stats["counts"], stats["unique_supporters"])
        meetings = []
        for m in await self.advocacy.meetings_of(campaign.id):
            report = m.get("report") or {}
            meetings.append(
                MeetingLine(
                    starts_at=m["starts_at"],
                    time_zone=m["time_zone"],
                    targets=[t["name"] for t in m["targets"]],
                    organization=names.get(m["org_id"], str(m["org_id"])),
                    outcome=report.get("outcome"),
                    follow_up_needed=bool(report.get("follow_up_needed")),
                    commitments=None if public else report.get("commitments"),
                    follow_up=None if public else report.get("follow_up"),
                    notes=None if public else report.get("notes"),
                )
            )
        disclosures = []
        for d in await self.organization_disclosures(campaign):
            disclosures.append(
                {
                    "organization": names.get(d.organization_id, str(d.organization_id)),
                    "declared_at": d.declared_at,
                    "current": d.current,
                    "funders": [f.model_dump() for f in d.funders],
                    "conflicts": d.conflicts_of_interest,
                }
            )
        petitions = [
            {
                "target_name": (p.get("target") or {}).get("name") or p.get("target_name") or "",
                "total": p.get("total", 0),
                "method": p.get("method", ""),
                "state": p.get("state", ""),
            }
            for p in await self.advocacy.petition_deliveries_of([campaign.id])
        ]
        return CampaignImpact(
            id=campaign.id,
            title=campaign.title,
            kind=campaign.kind.value,
            status=campaign.status.value,
            goal_metric=goal.metric.value,
            goal_target=goal.target,
            goal_value=value,
            goal_percent=goal.percent(value),
            counts=dict(stats["counts"]),
            by_organization={
                names[UUID(o)]: sum(kinds.values()) for o, kinds in sorted(stats["by_org"].items())
            },
            daily=[(date.fromisoformat(d), sum(c.values())) for d, c in sorted(stats["daily"].items())],
            milestones=list(stats["milestones"]),
            letters=[
                {"target_name": r.get("target_name") or "", "state": r["state"], "count": r["count"]}
                for r in await self.advocacy.letters_per_target([campaign.id])
            ],
            petitions=petitions,
            meetings=meetings,
            disclosures=disclosures,
        )

    async def _campaign_report(self, campaign: Campaign, public: bool) -> ImpactReport:
        goals = await self.advocacy.goals_of(campaign_id=campaign.id)
        return ImpactReport(
            title=campaign.title,
            scope="campaign",
            public=public,
            generated_at=utcnow(),
            campaigns=[await self._campaign_impact(campaign, public)],
            goals=await self._goal_lines(goals, public, {campaign.id: campaign.title}),
        )

    async def campaign_report(self, *, principal: Principal, campaign_id: UUID) -> ImpactReport:
        """The whole report, for the campaign's managers."""
        standing = await self.standing(principal=principal, campaign_id=campaign_id, scope=WRITE_SCOPE)
        if not standing.manages:
            raise Forbidden(
                "only organizers and admins of the owning organization (or of a lead organization of the owning coalition) read its impact report"
            )
        return await self._campaign_report(standing.campaign, public=False)

    async def coalition_report(self, *, principal: Principal, coalition_id: UUID) -> ImpactReport:
        """The whole report of a coalition's campaigns and goals, for its lead organizations' managers."""
        await self.managed_coalition(principal, coalition_id, WRITE_SCOPE)
        coalition = await self.repo.get_coalition(coalition_id) or {}
        campaigns = await self.repo.campaigns_for(
            org_ids=[], coalition_ids=[coalition_id], after=None, limit=200
        )
        goals = await self.advocacy.goals_of(coalition_id=coalition_id)
        titles = {c.id: c.title for c in campaigns}
        for c in campaigns:
            goals += await self.advocacy.goals_of(campaign_id=c.id)
        return ImpactReport(
            title=str(coalition.get("name") or f"Coalition {str(coalition_id)[:8]}"),
            scope="coalition",
            public=False,
            generated_at=utcnow(),
            campaigns=[await self._campaign_impact(c, False) for c in campaigns],
            goals=await self._goal_lines(goals, False, titles),
        )

    async def publish_report(self, *, principal: Principal, campaign_id: UUID, published: bool) -> bool:
        standing = await self._managed(principal, campaign_id)
        now = utcnow()
        await in_transaction(
            self.client,
            lambda s: self.advocacy.set_published(standing.campaign.id, published, now, principal.subject, s),
        )
        return published

    async def public_report(self, ref: str) -> ImpactReport:
        """The public version, when the campaign's managers published it (404 otherwise)."""
        link = await self.lookups.link(ref)
        campaign = await self.lookups.campaign(link.campaign_id) if link else None
        if campaign is None or campaign.as_of(utcnow()).status not in PUBLIC_STATUSES:
            raise NotFound("no such campaign link")
        if not await self.advocacy.is_published(campaign.id):
            raise NotFound("the campaign's impact report is not published")
        return await self._campaign_report(campaign.as_of(utcnow()), public=True)

    @staticmethod
    async def html(report: ImpactReport) -> str:
        return await asyncio.to_thread(render_html, report)

    @staticmethod
    async def pdf(report: ImpactReport) -> bytes:
        return await asyncio.to_thread(render_pdf, report)
