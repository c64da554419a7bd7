"""What the service does with the events it consumes: projections, webhook messages, notices."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from uuid import UUID

from opentelemetry import propagate, trace

from common.contracts import campaigns as camp
from common.contracts import coalition as coal
from common.contracts import identity as idn
from common.events import CloudEvent, EventPayload
from common.links import ACTION_CONFIRMATION, EMAIL_VERIFICATION, SUPPORTER_PAGES
from common.mongo import Session
from notifications.config import Settings
from notifications.domain.entitlement import Access, EventScope, Standing, access, redact, scope_of
from notifications.domain.notices import (
    LINK_TOKEN_PLACEHOLDER,
    OUTCOME_TEXT,
    PAGES_TOKEN_PLACEHOLDER,
    Notice,
)
from notifications.domain.webhooks import EndpointFilters, matches
from notifications.notices import NoticeService
from notifications.outgoing_intake import WORK_ORDERS, OutgoingIntake
from notifications.repository import (
    CAMPAIGNS,
    COALITION_MEMBERS,
    COALITIONS,
    ORG_MEMBERS,
    ORGANIZATIONS,
    USERS,
    Repository,
)
from notifications.service import message_doc

ACTIVE = "active"
tracer = trace.get_tracer(__name__)


@dataclass
class FanOutCache:
    """Entitlement reads shared by the events of one batch (one transaction, one snapshot)."""

    standings: dict[tuple[Any, ...], dict[UUID, Standing]] = field(default_factory=dict)
    endpoints: dict[frozenset[UUID], list[dict[str, Any]]] = field(default_factory=dict)


class EventIntake:
    def __init__(
        self, *, repo: Repository, notices: NoticeService, settings: Settings, outgoing: OutgoingIntake
    ) -> None:
        self.repo = repo
        self.notices = notices
        self.settings = settings
        self.outgoing = outgoing
        self.rng = random.Random()  # noqa: S311 - jitter, not cryptography

    async def handle(self, payload: EventPayload, event: CloudEvent, session: Session) -> None:
        """Project, fan out to webhooks, then tell people; all in the consumer's transaction.

        Work orders of the campaigns service (letters, petition deliveries, meeting schedules) carry
        personal data and are carried out here; they are never forwarded to webhooks."""
        await self.project(payload, session)
        if isinstance(payload, WORK_ORDERS):
            await self.outgoing.take(payload, event, session)
            return
        await self.fan_out(payload, event, session)
        await self.tell_people(payload, event, session)

    # ---- projections ---------------------------------------------------------------------------------
    async def project(self, p: EventPayload, session: Session) -> None:
        repo = self.repo
        if isinstance(p, idn.UserRegistered):
            user = {"email": p.email.strip().lower(), "display_name": p.display_name}
            await repo.upsert(USERS, {"_id": p.user_id}, user, session)
            await self.notices.user_learned(p.user_id, user["email"], session)
        elif isinstance(p, idn.OrganizationRegistered | idn.OrganizationUpdated):
            await repo.upsert(ORGANIZATIONS, {"_id": p.organization_id}, {"name": p.name}, session)
        elif isinstance(p, idn.MembershipGranted | idn.MembershipRoleChanged):
            key = {"org_id": p.organization_id, "user_id": p.user_id}
            await repo.upsert(ORG_MEMBERS, key, {"role": p.role}, session)
            await self.notices.member_learned(p.organization_id, p.user_id, p.role, session)
        elif isinstance(p, idn.MembershipRevoked):
            await repo.delete(ORG_MEMBERS, {"org_id": p.organization_id, "user_id": p.user_id}, session)
        elif isinstance(p, coal.CoalitionCreated | coal.CoalitionUpdated):
            await repo.upsert(COALITIONS, {"_id": p.coalition_id}, {"name": p.name}, session)
        elif isinstance(p, coal._MembershipEvent):
            key = {"coalition_id": p.coalition_id, "org_id": p.organization_id}
            await repo.upsert(COALITION_MEMBERS, key, {"role": p.role, "state": p.state}, session)
        elif isinstance(p, camp._CampaignEvent | camp._ActionEvent):
            campaign: dict[str, Any] = {"owner": p.owner_organization_id, "coalition_id": p.coalition_id}
            if isinstance(p, camp.CampaignCreated | camp.CampaignUpdated):
                campaign["title"] = p.title
            await repo.upsert(CAMPAIGNS, {"_id": p.campaign_id}, campaign, session)
            if isinstance(p, camp.CampaignAdopted):
                await repo.add_adopter(p.campaign_id, p.organization_id, session)
            elif isinstance(p, camp.AdoptionWithdrawn):
                await repo.remove_adopter(p.campaign_id, p.organization_id, session)
            elif isinstance(p, camp.SupporterErased):
                await repo.redact_supporter(p.supporter_id, session)
                await self.outgoing.supporter_erased(p, session)
            elif isinstance(p, camp.CampaignArchived):
                await self.outgoing.campaign_archived(p, session)

    # ---- webhooks ----------------------------------------------------------------------------------
    async def standings(self, scope: EventScope, session: Session) -> dict[UUID, Standing]:
        roles: dict[UUID, str] = {}
        if scope.coalition_id is not None:
            members = await self.repo.find(
                COALITION_MEMBERS, {"coalition_id": scope.coalition_id, "state": ACTIVE}, session
            )
            roles = {m["org_id"]: m["role"] for m in members}
        owner: UUID | None = None
        adopters: set[UUID] = set()
        if scope.campaign_id is not None:
            campaign = await self.repo.find_one(CAMPAIGNS, {"_id": scope.campaign_id}, session)
            if campaign:
                owner = campaign.get("owner")
                adopters = set(campaign.get("adopters", []))
        orgs = set(scope.own_orgs) | set(roles) | adopters | ({owner} if owner else set())
        return {
            org: Standing(
                coalition_role=roles.get(org), owns_campaign=org == owner, adopted_campaign=org in adopters
            )
            for org in orgs
        }

    async def fan_out(self, payload: EventPayload, event: CloudEvent, session: Session) -> None:
        await self.repo.insert_messages(
            await self.messages_for(payload, event, session, FanOutCache()), session
        )

    async def messages_for(
        self, payload: EventPayload, event: CloudEvent, session: Session, cache: FanOutCache
    ) -> list[dict[str, Any]]:
        """The webhook messages one event makes: one per enabled, matching endpoint of an entitled org.

        `cache` keeps the entitlement reads (standings of a scope, endpoints of a set of organizations)
        for the events of one batch, which share a transaction and so see the same projections.
        """
        if isinstance(payload, idn.UserRegistered | idn.EmailVerificationRequested | idn.EmailVerified):
            return []  # a person's account is nobody's webhook business
        if isinstance(payload, camp.ActionPending):
            return []  # not an action until confirmed, and it carries the supporter's address: never delivered
        data = payload.model_dump(mode="json")
        scope = scope_of(event.type, data)
        scope_key = (scope.coalition_id, scope.campaign_id, tuple(sorted(scope.own_orgs)))
        standings = cache.standings.get(scope_key)
        if standings is None:
            standings = cache.standings[scope_key] = await self.standings(scope, session)
        levels = {org: access(scope, org, s) for org, s in standings.items()}
        entitled = frozenset(org for org, level in levels.items() if level is not Access.NONE)
        if not entitled:
            return []
        endpoints = cache.endpoints.get(entitled)
        if endpoints is None:
            endpoints = cache.endpoints[entitled] = await self.repo.enabled_endpoints_of(
                sorted(entitled), session
            )
        docs = []
        for endpoint in endpoints:
            if not matches(endpoint["event_types"], event.type):
                continue
            filters = EndpointFilters(
                frozenset(endpoint.get("coalition_ids") or ()), frozenset(endpoint.get("campaign_ids") or ())
            )
            if not filters.admit(coalition_id=scope.coalition_id, campaign_id=scope.campaign_id):
                continue
            docs.append(
                message_doc(
                    endpoint=endpoint,
                    event_id=event.id,
                    event_type=event.type,
                    timestamp=event.time.isoformat(),
                    data=redact(data, levels[endpoint["org_id"]]),
                    settings=self.settings,
                    rng=self.rng,
                )
            )
        return docs

    async def handle_batch(
        self, items: list[tuple[EventPayload, CloudEvent, Mapping[str, str]]], session: Session
    ) -> None:
        """Apply a batch of one partition's events, in order, in the caller's transaction.

        Recorded actions (nearly all of a busy campaign's events) only make webhook messages: their
        campaign's projection is written once per batch, entitlement is read once per scope, and the
        messages are inserted together. Any other event (consent withdrawn, supporter erased, a pending
        action's confirmation mail) is applied alone, after the messages before it are inserted, so a
        redaction also covers them. Each event is handled in a span of its own trace (its Kafka
        record's `traceparent`), linked to the batch's span, so its webhook messages and their
        attempts continue the supporter action's trace.
        """
        cache = FanOutCache()
        docs: list[dict[str, Any]] = []
        projected: set[UUID] = set()
        batch = trace.get_current_span().get_span_context()
        for payload, event, headers in items:
            span = tracer.start_span(
                f"notifications-actions {event.type}",
                context=propagate.extract(dict(headers)),
                kind=trace.SpanKind.CONSUMER,
                links=[trace.Link(batch)] if batch.is_valid else None,
            )
            with trace.use_span(span, end_on_exit=True):
                if isinstance(payload, camp.ActionRecorded):
                    if payload.campaign_id not in projected:
                        await self.project(payload, session)
                        projected.add(payload.campaign_id)
                    docs.extend(await self.messages_for(payload, event, session, cache))
                    continue
                await self.repo.insert_messages(docs, session)
                docs = []
                await self.handle(payload, event, session)
                cache = FanOutCache()
        await self.repo.insert_messages(docs, session)

    # ---- notices -------------------------------------------------------------------------------------
    async def _name(self, collection: str, key: UUID | None, fallback: str, session: Session) -> str:
        if key is None:
            return fallback
        doc = await self.repo.find_one(collection, {"_id": key}, session)
        return str((doc or {}).get("name") or (doc or {}).get("title") or fallback)

    async def tell_people(self, p: EventPayload, event: CloudEvent, session: Session) -> None:
        n = self.notices
        eid = event.id
        if isinstance(p, idn.InvitationCreated):
            org = await self._name(ORGANIZATIONS, p.organization_id, "An organization", session)
            notice = Notice(
                "org_invitation",
                {
                    "org_name": org,
                    "role": p.role,
                    "email": p.email,
                    "expires_at": p.expires_at.date().isoformat(),
                },
            )
            await n.notify_address(p.email, notice, event_id=eid, session=session)
        elif isinstance(p, idn.EmailVerificationRequested):
            # The link's token is not in the event; the mailer derives it from the verification id.
            context = {
                "email": p.email,
                "expires_at": p.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            }
            await n.mail_link(
                p.email,
                "email_verification",
                context,
                purpose=EMAIL_VERIFICATION,
                item_id=p.verification_id,
                user_id=p.user_id,
                event_id=eid,
                session=session,
            )
        elif isinstance(p, camp.ActionPending):
            await self._confirmation_mail(p, eid, session)
        elif isinstance(p, coal._MembershipEvent):
            await self._membership_notice(p, eid, session)
        elif isinstance(p, camp.CampaignAdopted):
            context = {
                "campaign_title": await self._name(CAMPAIGNS, p.campaign_id, "a campaign", session),
                "adopter_name": await self._name(
                    ORGANIZATIONS, p.organization_id, "An organization", session
                ),
            }
            notice = Notice("campaign_adopted", context)
            await n.notify_orgs([p.owner_organization_id], notice, event_id=eid, session=session)
        elif isinstance(p, camp.MilestoneReached):
            campaign = await self.repo.find_one(CAMPAIGNS, {"_id": p.campaign_id}, session) or {}
            reached: dict[str, Any] = {
                "campaign_title": campaign.get("title") or "Your campaign",
                "milestone": p.milestone,
                "value": p.value,
                "target": p.target,
            }
            orgs = [p.owner_organization_id, *campaign.get("adopters", [])]
            await n.notify_orgs(orgs, Notice("goal_milestone", reached), event_id=eid, session=session)

    async def _confirmation_mail(self, p: camp.ActionPending, eid: str, session: Session) -> None:
        """Ask a supporter to confirm their action (double opt-in), in the language of their action.

        The links' tokens are not in the event: the mailer derives them from the ids (common.links)."""
        pages = p.pages_url.rstrip("/")
        context = {
            "lang": p.language,
            "first_name": p.first_name,
            "campaign_title": p.campaign_title,
            "organization_name": p.organization_name or "",
            "confirm_url": f"{pages}/confirm/{LINK_TOKEN_PLACEHOLDER}",
            "pages_url": f"{pages}/me/{PAGES_TOKEN_PLACEHOLDER}",
            "expires_at": p.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        links = [
            {"placeholder": LINK_TOKEN_PLACEHOLDER, "purpose": ACTION_CONFIRMATION, "id": p.action_id},
            {"placeholder": PAGES_TOKEN_PLACEHOLDER, "purpose": SUPPORTER_PAGES, "id": p.supporter_ref},
        ]
        kind = f"action_confirmation_{p.language}"
        await self.notices.mail_supporter(p.email, kind, context, links=links, event_id=eid, session=session)

    async def _membership_notice(self, p: coal._MembershipEvent, eid: str, session: Session) -> None:
        n = self.notices
        context: dict[str, Any] = {
            "coalition_name": await self._name(COALITIONS, p.coalition_id, "a coalition", session),
            "org_name": await self._name(ORGANIZATIONS, p.organization_id, "An organization", session),
            "role": p.role,
        }
        if isinstance(p, coal.MembershipInvited):
            notice = Notice("coalition_invited", context)
            await n.notify_orgs([p.organization_id], notice, event_id=eid, session=session)
        elif isinstance(p, coal.MembershipApplied):
            own = Notice("coalition_applied", {**context, "for_lead": False})
            await n.notify_orgs([p.organization_id], own, event_id=eid, session=session)
            leads = await self.repo.find(
                COALITION_MEMBERS, {"coalition_id": p.coalition_id, "role": "lead", "state": ACTIVE}, session
            )
            lead_notice = Notice("coalition_applied", {**context, "for_lead": True})
            await n.notify_orgs([m["org_id"] for m in leads], lead_notice, event_id=eid, session=session)
        elif p.event_type in OUTCOME_TEXT:
            outcome = Notice(
                "coalition_outcome",
                {**context, "outcome_text": OUTCOME_TEXT[p.event_type], "reason": p.reason},
            )
            await n.notify_orgs([p.organization_id], outcome, event_id=eid, session=session)
