"""Petition delivery: a manager hands a petition to its decision-maker, as a PDF and a CSV.

The totals are the statistics' (the aggregator's counted signatures, read in the same transaction as
the counted actions they are split from, so the regions and organizations add up to the total), and the
only names are those of signatories who consented to `petition_delivery`. The documents are kept for
the managers to download. Delivered by download, `campaigns.petition.delivered` is recorded at once; by
e-mail, the notifications service is asked to send it (`campaigns.petition.delivery_requested`) and the
delivery is recorded when it reports the mail sent.
"""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from typing import Any, Literal
from uuid import UUID

from campaigns.domain.campaigns import PUBLIC_STATUSES, ActionKind, Campaign, CampaignKind
from campaigns.domain.supporters import ConsentPurpose
from campaigns.petition_documents import PetitionFacts, petition_csv, petition_pdf
from campaigns.repository import ACTIONS, SUPPORTERS
from campaigns.targets_repository import Target
from campaigns.usecases.base import WRITE_SCOPE
from campaigns.usecases.letters import full_name
from campaigns.usecases.targets import Directory, Targets
from common import scopes
from common.auth import Principal
from common.contracts import campaigns as ev
from common.contracts import notifications as notes
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.events import utcnow
from common.mongo import Document, Session, in_transaction

Method = Literal["download", "email"]


def region_of(country: str | None, postal_code: str | None) -> str:
    """Where a signature counts: the country and the postal code's first two characters."""
    if not country and not postal_code:
        return "unknown"
    prefix = (postal_code or "").replace(" ", "").upper()[:2]
    return f"{country or '??'} {prefix}*" if prefix else str(country)


class PetitionDeliveries(Targets):
    """Delivering petitions to decision-makers and keeping what was delivered."""

    async def _managed_petition(self, principal: Principal, campaign_id: UUID, scope: str) -> Campaign:
        standing = await self.standing(principal=principal, campaign_id=campaign_id, scope=scope)
        if not standing.manages:
            raise Forbidden(
                "only the campaign's managers (organizers of its owner, or of a lead of its coalition) deliver "
                "its petition"
            )
        return standing.campaign

    async def deliver_petition(
        self,
        *,
        principal: Principal,
        campaign_id: UUID,
        target_id: UUID | None,
        method: Method,
        message: str | None,
    ) -> Document:
        standing = await self._managed(principal, campaign_id)
        campaign = standing.campaign
        if campaign.kind is not CampaignKind.PETITION:
            raise Conflict("only a petition is delivered", campaign_kind=campaign.kind.value)
        if campaign.status not in PUBLIC_STATUSES:
            raise Conflict(
                f"a {campaign.status.value} petition is not delivered", campaign_status=campaign.status.value
            )
        target = await self._delivery_target(campaign, target_id)
        if method == "email" and target is None:
            raise InvalidInput("an e-mailed delivery goes to a target of the directory", field="target_id")
        addressed = self._addressed(campaign, target)
        now = utcnow()
        delivery_id = uuid.uuid4()
        subject = f"Petition: {campaign.title}"

        async def work(session: Session) -> Document:
            facts = await self._facts(session, campaign, addressed, now)
            pdf, table = petition_pdf(facts), petition_csv(facts)
            body = (message or "").strip() or (
                f"Please find attached the petition \u201c{campaign.title}\u201d, signed by {facts.total} people."
            )
            doc: Document = {
                "_id": delivery_id,
                "campaign_id": campaign.id,
                "organization_id": standing.manages_for,
                "target": addressed.model_dump(mode="python"),
                "method": method,
                "state": "delivered" if method == "download" else "queued",
                "reason": None,
                "subject": subject,
                "message": body,
                "total_signatures": facts.total,
                "by_region": dict(facts.by_region),
                "by_organization": dict(facts.by_organization),
                "named_signatories": len(facts.signatories),
                "created_by": principal.subject,
                "created_at": now,
                "delivered_at": now if method == "download" else None,
                "pdf": pdf,
                "csv": table,
            }
            await self.targets_repo.insert_petition_delivery(doc, session)
            if method == "download":
                await self._delivered(session, campaign, doc)
            else:
                assert target is not None
                await self._emit(
                    session,
                    ev.PetitionDeliveryRequested(
                        **self._scope(campaign),
                        delivery_id=delivery_id,
                        organization_id=standing.manages_for,
                        target=ev.DecisionMaker(
                            target_id=target.id,
                            target_version=target.version,
                            name=target.fields.name,
                            email=str(target.fields.email),
                        ),
                        subject=subject,
                        body=body,
                        attachments=[
                            ev.MailAttachment(
                                filename=f"petition-{campaign.id}.pdf",
                                content_type="application/pdf",
                                content_base64=base64.b64encode(pdf).decode(),
                            ),
                            ev.MailAttachment(
                                filename=f"petition-{campaign.id}.csv",
                                content_type="text/csv",
                                content_base64=base64.b64encode(table).decode(),
                            ),
                        ],
                    ),
                    campaign,
                )
            return {k: v for k, v in doc.items() if k not in ("pdf", "csv")}

        return await in_transaction(self.client, work)

    async def _delivery_target(self, campaign: Campaign, target_id: UUID | None) -> Target | None:
        if target_id is None:
            return None
        target = await self.targets_repo.get_target(target_id)
        directories = [Directory(**d) for d in self._directories(campaign)]
        if target is None or target.retired or Directory.of(target) not in directories:
            raise InvalidInput(
                "the target is not a current target of the campaign's organization or coalition directory",
                field="target_id",
            )
        return target

    @staticmethod
    def _addressed(campaign: Campaign, target: Target | None) -> ev.DeliveredTarget:
        if target is not None:
            return ev.DeliveredTarget(
                target_id=target.id,
                target_version=target.version,
                name=target.fields.name,
                office=target.fields.office,
            )
        named = campaign.details.get("target") or {}
        return ev.DeliveredTarget(name=named.get("name") or "The decision-maker", office=named.get("office"))

    async def _facts(
        self, session: Session, campaign: Campaign, addressed: ev.DeliveredTarget, now: Any
    ) -> PetitionFacts:
        """What the documents say, from one snapshot: the counted signatures and the statistics."""
        stats = await self.repo.get_stats(campaign.id, session)
        kind = ActionKind.SIGNATURE.value
        total = int(stats.get("counts", {}).get(kind, 0))
        by_org = {org: int(counts.get(kind, 0)) for org, counts in stats.get("by_org", {}).items()}
        signed = await (
            self.repo.db[ACTIONS]
            .find(
                {"campaign_id": campaign.id, "kind": kind, "counted": True},
                {"supporter_id": 1},
                session=session,
            )
            .to_list()
        )
        supporter_ids = [a["supporter_id"] for a in signed]
        supporters = {
            s["_id"]: s
            for s in await self.repo.db[SUPPORTERS]
            .find(
                {"_id": {"$in": supporter_ids}},
                {
                    "first_name": 1,
                    "last_name": 1,
                    "postal_code": 1,
                    "country": 1,
                    "consents": 1,
                    "erased_at": 1,
                },
                session=session,
            )
            .to_list()
        }
        regions: Counter[str] = Counter()
        named: list[tuple[str, str]] = []
        for supporter_id in supporter_ids:
            s = supporters.get(supporter_id, {})
            regions[region_of(s.get("country"), s.get("postal_code"))] += 1
            if s.get("erased_at") is None and ConsentPurpose.PETITION_DELIVERY.value in s.get("consents", {}):
                place = " ".join(p for p in (s.get("postal_code"), s.get("country")) if p)
                named.append((full_name(s.get("first_name"), s.get("last_name")), place))
        if sum(regions.values()) != total:
            # The statistics and the counted marks are written together; a difference is a bug, not a race.
            raise Conflict("the petition's totals are being counted; try again in a moment")
        return PetitionFacts(
            title=campaign.title,
            text=str(campaign.details.get("text", "")),
            addressed_to=f"{addressed.name}, {addressed.office}" if addressed.office else addressed.name,
            total=total,
            by_region=sorted(regions.items()),
            by_organization=sorted((org, n) for org, n in by_org.items() if n),
            signatories=sorted(named),
            generated_at=now,
        )

    async def _delivered(self, session: Session, campaign: Campaign, doc: Document) -> None:
        facts: dict[str, Any] = {
            "delivery_id": doc["_id"],
            "target": ev.DeliveredTarget.model_validate(doc["target"]),
            "method": doc["method"],
            "total_signatures": doc["total_signatures"],
            "delivered_at": doc["delivered_at"],
        }
        await self._emit(session, ev.PetitionDelivered(**self._scope(campaign), **facts), campaign)
        await self._emit(session, ev.FederatedPetitionDelivered(**self._scope(campaign), **facts), campaign)

    # ---- reading what was delivered ------------------------------------------------------------------------

    async def petition_deliveries(
        self, *, principal: Principal, campaign_id: UUID, after: UUID | None, limit: int
    ) -> list[Document]:
        await self._managed_petition(principal, campaign_id, WRITE_SCOPE)
        return await self.targets_repo.petition_deliveries(campaign_id, after=after, limit=limit)

    async def petition_document(
        self, *, principal: Principal, campaign_id: UUID, delivery_id: UUID, document: Literal["pdf", "csv"]
    ) -> bytes:
        """A delivery's PDF or CSV: it names signatories, so API clients need `supporters:read`."""
        await self._managed_petition(principal, campaign_id, scopes.SUPPORTERS_READ)
        doc = await self.targets_repo.petition_delivery(delivery_id, with_files=True)
        if doc is None or doc["campaign_id"] != campaign_id:
            raise NotFound("no such petition delivery")
        return bytes(doc[document])

    # ---- from the notifications service --------------------------------------------------------------------

    async def petition_sent(self, *, payload: notes.PetitionSent, session: Session) -> None:
        sent_at = payload.sent_at.replace(microsecond=payload.sent_at.microsecond // 1000 * 1000)
        doc = await self.targets_repo.set_petition_delivery(
            payload.delivery_id,
            {"state": {"$ne": "delivered"}},
            {"state": "delivered", "delivered_at": sent_at, "reason": None},
            session,
        )
        if doc is None:
            return  # unknown, or already recorded as delivered
        campaign = await self.repo.get_campaign(doc["campaign_id"], session)
        if campaign is not None:
            await self._delivered(session, campaign, doc)

    async def petition_failed(self, *, payload: notes.PetitionFailed, session: Session) -> None:
        changes: dict[str, Any] = {"reason": payload.reason[:200]}
        if payload.final:
            changes["state"] = "failed"
        await self.targets_repo.set_petition_delivery(
            payload.delivery_id, {"state": {"$ne": "delivered"}}, changes, session
        )
