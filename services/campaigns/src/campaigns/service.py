"""Use cases of the campaigns service: campaigns, adoption, supporter actions, consent, stories, erasure.

Authorization is decided here from the token's organization roles and the service's own projection of
coalition memberships (built from the coalition service's events, never by calling it).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from campaigns.config import Settings
from campaigns.domain.campaigns import (
    EDITABLE_STATUSES,
    PUBLIC_STATUSES,
    ActionKind,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Goal,
    GoalMetric,
    Transition,
    milestones_crossed,
    next_status,
)
from campaigns.domain.details import validate_details
from campaigns.domain.supporters import (
    DEFAULT_CONSENT_TEXTS,
    ConsentPurpose,
    NameForm,
    SupporterKeys,
    consent_version,
    display_name,
    normalise_email,
)
from campaigns.repository import CampaignRepository
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from common.events import EventPayload, utcnow
from common.mongo import Document, Session, in_transaction
from common.outbox import OUTBOX, Outbox

READ_SCOPE = "campaigns:read"
WRITE_SCOPE = "campaigns:write"
MEMBER_ROLES = ("lead", "member")  # coalition roles that adopt campaigns and may see shared contacts

STATUS_EVENT: dict[Transition, type[ev._StatusChanged]] = {
    Transition.LAUNCH: ev.CampaignLaunched,
    Transition.PAUSE: ev.CampaignPaused,
    Transition.RESUME: ev.CampaignResumed,
    Transition.CLOSE: ev.CampaignClosed,
    Transition.ARCHIVE: ev.CampaignArchived,
}


@dataclass(frozen=True)
class NewCampaign:
    organization_id: UUID
    coalition_id: UUID | None
    kind: CampaignKind
    title: str
    summary: str
    details: dict[str, Any]
    goal: Goal
    launch_at: datetime | None = None
    close_at: datetime | None = None
    consent_texts: dict[ConsentPurpose, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SupporterInput:
    email: str
    first_name: str
    last_name: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class ActionInput:
    kind: ActionKind
    supporter: SupporterInput
    consents: dict[ConsentPurpose, str]  # purpose -> the consent text version the supporter saw
    details: dict[str, Any] = field(default_factory=dict)
    story: dict[str, Any] | None = None  # title, body, name_form for stories


@dataclass(frozen=True)
class ActionResult:
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Standing:
    """What the caller may see and do on one campaign."""

    campaign: Campaign
    manages_for: UUID | None  # the organization the caller manages the campaign for
    viewer_orgs: frozenset[UUID]  # the caller's organizations that see the campaign
    platform_admin: bool

    @property
    def manages(self) -> bool:
        return self.manages_for is not None or self.platform_admin


class CampaignService:
    def __init__(
        self,
        *,
        client: AsyncMongoClient[Document],
        repo: CampaignRepository,
        outbox: Outbox,
        settings: Settings,
    ) -> None:
        self.client = client
        self.repo = repo
        self.outbox = outbox
        self.settings = settings
        self.keys = SupporterKeys(settings.supporter_secret_bytes)
        self._locks: weakref.WeakValueDictionary[UUID, asyncio.Lock] = weakref.WeakValueDictionary()

    def _campaign_lock(self, campaign_id: UUID) -> asyncio.Lock:
        lock = self._locks.get(campaign_id)
        if lock is None:
            lock = self._locks[campaign_id] = asyncio.Lock()
        return lock

    # ---- who acts for whom -----------------------------------------------------------------------

    @staticmethod
    def acting_orgs(principal: Principal) -> set[UUID]:
        if principal.kind == "client":
            return {principal.client_org} if principal.client_org else set()
        return set(principal.org_roles)

    @staticmethod
    def organizes(principal: Principal, org_id: UUID) -> bool:
        """Organizers, admins and owners of the organization, or its API client with the write scope."""
        if principal.kind == "client":
            return principal.client_org == org_id and WRITE_SCOPE in principal.scopes
        return principal.has_role(org_id, "organizer")

    @staticmethod
    def administers(principal: Principal, org_id: UUID) -> bool:
        if principal.kind == "client":
            return principal.client_org == org_id and WRITE_SCOPE in principal.scopes
        return principal.has_role(org_id, "admin")

    def _require_organizer_of(self, principal: Principal, org_id: UUID) -> None:
        if not (principal.platform_admin or self.organizes(principal, org_id)):
            raise Forbidden("only the organization's organizers, admins and owners act for it here")

    async def _membership(
        self, coalition_id: UUID, org_id: UUID, session: Session | None = None
    ) -> Document | None:
        return await self.repo.get_membership(coalition_id, org_id, session)

    async def _is_active(
        self, coalition_id: UUID, org_id: UUID, roles: tuple[str, ...], session: Session | None = None
    ) -> bool:
        doc = await self._membership(coalition_id, org_id, session)
        return doc is not None and doc["state"] == "active" and doc["role"] in roles

    async def standing(self, *, principal: Principal, campaign_id: UUID) -> Standing:
        """The campaign as the caller may see it; a 404 to those who may not."""
        if principal.kind == "client" and not ({READ_SCOPE, WRITE_SCOPE} & principal.scopes):
            raise Forbidden(f"the token lacks the scope {READ_SCOPE!r}", required_scope=READ_SCOPE)
        campaign = await self.repo.get_campaign(campaign_id)
        if campaign is None:
            raise NotFound("no such campaign")
        campaign = await self.apply_schedule(campaign)
        orgs = self.acting_orgs(principal)
        viewers: set[UUID] = set()
        manages_for: UUID | None = None
        if campaign.coalition_id is None:
            if campaign.owner_org_id in orgs:
                viewers.add(campaign.owner_org_id)
                if self.organizes(principal, campaign.owner_org_id):
                    manages_for = campaign.owner_org_id
        else:
            for doc in await self.repo.memberships_of_orgs(list(orgs)):
                if doc["coalition_id"] != campaign.coalition_id or doc["state"] not in (
                    "active",
                    "suspended",
                ):
                    continue
                viewers.add(doc["org_id"])
                if (
                    doc["state"] == "active"
                    and doc["role"] == "lead"
                    and self.organizes(principal, doc["org_id"])
                ):
                    manages_for = manages_for or doc["org_id"]
        if not viewers and not principal.platform_admin:
            raise NotFound("no such campaign")
        return Standing(campaign, manages_for, frozenset(viewers), principal.platform_admin)

    async def _managed(self, principal: Principal, campaign_id: UUID) -> Standing:
        standing = await self.standing(principal=principal, campaign_id=campaign_id)
        if not standing.manages:
            raise Forbidden(
                "only organizers and admins of the owning organization (or of a lead organization of the "
                "owning coalition) manage the campaign"
            )
        return standing

    async def _emit(
        self, session: Session, payload: EventPayload, campaign: Campaign, orgid: UUID | None = None
    ) -> None:
        await self.outbox.add(
            session,
            payload,
            key=str(campaign.id),
            subject=f"campaigns/{campaign.id}",
            orgid=str(orgid or campaign.owner_org_id),
            coalitionid=str(campaign.coalition_id) if campaign.coalition_id else None,
        )

    def _scope(self, campaign: Campaign) -> dict[str, Any]:
        return {
            "campaign_id": campaign.id,
            "owner_organization_id": campaign.owner_org_id,
            "coalition_id": campaign.coalition_id,
        }

    async def _federate(self, session: Session, campaign: Campaign) -> None:
        """Tell partners the campaign's public state, once it is public."""
        if campaign.status not in PUBLIC_STATUSES and campaign.status is not CampaignStatus.ARCHIVED:
            return
        links = await self.repo.links_of_campaign(campaign.id, session)
        await self._emit(
            session,
            ev.FederatedCampaign(
                **self._scope(campaign),
                kind=campaign.kind.value,
                title=campaign.title,
                summary=campaign.summary,
                status=campaign.status.value,
                goal=ev.Goal.model_validate(campaign.goal.model_dump()),
                participating_organization_ids=[d["org_id"] for d in links if d["state"] == "active"],
                launch_at=campaign.launch_at,
                close_at=campaign.close_at,
            ),
            campaign,
        )

    # ---- campaigns -------------------------------------------------------------------------------

    def _check_goal(self, kind: CampaignKind, goal: Goal, now: datetime, *, new: bool) -> None:
        from campaigns.domain.campaigns import ACTIONS_OF

        if goal.metric is GoalMetric.ACTIONS:
            if goal.action_kind is None:
                raise InvalidInput("a goal counting actions names their kind", field="goal.action_kind")
            if goal.action_kind not in ACTIONS_OF[kind]:
                raise InvalidInput(
                    f"a {kind.value} campaign has no {goal.action_kind.value} actions",
                    field="goal.action_kind",
                    accepted=[k.value for k in ACTIONS_OF[kind]],
                )
        elif goal.action_kind is not None:
            raise InvalidInput("only a goal counting actions names an action kind", field="goal.action_kind")
        if goal.metric is GoalMetric.ATTENDANCE and kind is not CampaignKind.EVENT:
            raise InvalidInput("attendance goals belong to event campaigns", field="goal.metric")
        if new and goal.deadline <= now:
            raise InvalidInput("the goal's deadline must be in the future", field="goal.deadline")

    @staticmethod
    def _check_schedule(launch_at: datetime | None, close_at: datetime | None) -> None:
        if launch_at is not None and close_at is not None and close_at <= launch_at:
            raise InvalidInput("close_at must be after launch_at", field="close_at")

    def _consent_texts(
        self, kind: CampaignKind, details: dict[str, Any], given: dict[ConsentPurpose, str], coalition: bool
    ) -> dict[str, dict[str, str]]:
        texts: dict[str, dict[str, str]] = {}
        for purpose in ConsentPurpose:
            if purpose is ConsentPurpose.SHARE_WITH_COALITION and not coalition:
                continue
            if purpose is ConsentPurpose.PUBLISH_STORY and kind is not CampaignKind.STORY_COLLECTION:
                continue
            text = given.get(purpose) or DEFAULT_CONSENT_TEXTS[purpose]
            if purpose is ConsentPurpose.PUBLISH_STORY:
                text = details["consent_text"]
            texts[purpose.value] = {"version": consent_version(text), "text": text}
        return texts

    async def create_campaign(self, *, principal: Principal, new: NewCampaign) -> Campaign:
        self._require_organizer_of(principal, new.organization_id)
        new = replace(new, kind=CampaignKind(new.kind))  # the API passes the kind as a plain str
        now = utcnow()
        details = validate_details(new.kind, new.details)
        self._check_goal(new.kind, new.goal, now, new=True)
        self._check_schedule(new.launch_at, new.close_at)
        campaign = Campaign(
            id=uuid.uuid4(),
            kind=new.kind,
            title=new.title,
            summary=new.summary,
            details=details,
            goal=new.goal,
            owner_org_id=new.organization_id,
            coalition_id=new.coalition_id,
            status=CampaignStatus.DRAFT,
            launch_at=new.launch_at,
            close_at=new.close_at,
            consent_texts=self._consent_texts(
                new.kind, details, new.consent_texts, new.coalition_id is not None
            ),
            created_by=principal.subject,
            created_at=now,
            updated_at=now,
        )

        async def work(session: Session) -> None:
            if new.coalition_id is not None:
                coalition = await self.repo.get_coalition(new.coalition_id, session)
                if coalition is None:
                    raise InvalidInput("no coalition with this id is known here", field="coalition_id")
                if coalition.get("status") == "archived":
                    raise Conflict("the coalition is archived", coalition_id=str(new.coalition_id))
                lead = await self._is_active(new.coalition_id, new.organization_id, ("lead",), session)
                if not lead and not principal.platform_admin:
                    raise Forbidden("only an active lead organization creates the coalition's campaigns")
            await self.repo.insert_campaign(campaign, session)
            await self.repo.insert_link(self._link_doc(campaign, new.organization_id, "owner", now), session)
            await self._emit(
                session,
                ev.CampaignCreated(
                    **self._scope(campaign),
                    kind=campaign.kind.value,
                    title=campaign.title,
                    status=campaign.status.value,
                    goal=ev.Goal.model_validate(campaign.goal.model_dump()),
                    launch_at=campaign.launch_at,
                    close_at=campaign.close_at,
                ),
                campaign,
            )

        await in_transaction(self.client, work)
        return campaign

    @staticmethod
    def _link_doc(campaign: Campaign, org_id: UUID, role: str, now: datetime) -> Document:
        return {
            "_id": secrets.token_urlsafe(9),
            "campaign_id": campaign.id,
            "coalition_id": campaign.coalition_id,
            "org_id": org_id,
            "role": role,
            "state": "active",
            "created_at": now,
            "updated_at": now,
        }

    async def list_campaigns(
        self, *, principal: Principal, organization_id: UUID, after: UUID | None, limit: int
    ) -> list[Campaign]:
        """Campaigns an organization owns, or that its coalitions run."""
        if principal.kind == "client" and not ({READ_SCOPE, WRITE_SCOPE} & principal.scopes):
            raise Forbidden(f"the token lacks the scope {READ_SCOPE!r}", required_scope=READ_SCOPE)
        if organization_id not in self.acting_orgs(principal) and not principal.platform_admin:
            raise Forbidden("you do not act for this organization")
        memberships = await self.repo.memberships_of_orgs([organization_id])
        coalitions = [d["coalition_id"] for d in memberships if d["state"] in ("active", "suspended")]
        return await self.repo.campaigns_for(
            org_ids=[organization_id], coalition_ids=coalitions, after=after, limit=limit
        )

    async def update_campaign(
        self, *, principal: Principal, campaign_id: UUID, changes: dict[str, Any]
    ) -> Campaign:
        standing = await self._managed(principal, campaign_id)
        campaign = standing.campaign
        if campaign.status not in EDITABLE_STATUSES:
            raise Conflict(
                f"a {campaign.status.value} campaign cannot be edited",
                campaign_status=campaign.status.value,
            )
        now = utcnow()
        update: dict[str, Any] = {}
        for name in ("title", "summary"):
            if changes.get(name) is not None:
                update[name] = changes[name]
        details = campaign.details
        if changes.get("details") is not None:
            details = validate_details(campaign.kind, changes["details"])
            update["details"] = details
        if changes.get("goal") is not None:
            goal = Goal.model_validate(changes["goal"])
            self._check_goal(campaign.kind, goal, now, new=goal.deadline != campaign.goal.deadline)
            update["goal"] = goal.model_dump(mode="python")
        for name in ("launch_at", "close_at"):
            if name in changes:
                update[name] = changes[name]
        launch_at = update.get("launch_at", campaign.launch_at)
        close_at = update.get("close_at", campaign.close_at)
        self._check_schedule(launch_at, close_at)
        if "launch_at" in update and campaign.status is not CampaignStatus.DRAFT:
            raise Conflict("only a draft has a launch time to change", campaign_status=campaign.status.value)
        if changes.get("consent_texts") is not None or "details" in update:
            given = {ConsentPurpose(k): v for k, v in (changes.get("consent_texts") or {}).items()}
            current = {ConsentPurpose(k): v["text"] for k, v in campaign.consent_texts.items()}
            texts = self._consent_texts(
                campaign.kind, details, {**current, **given}, campaign.coalition_id is not None
            )
            if texts != campaign.consent_texts:
                update["consent_texts"] = texts
        if not update:
            return campaign
        update["updated_at"] = now

        async def work(session: Session) -> Campaign:
            updated = await self.repo.update_campaign(campaign.id, update, session)
            if updated.status not in EDITABLE_STATUSES:
                raise Conflict(
                    f"a {updated.status.value} campaign cannot be edited",
                    campaign_status=updated.status.value,
                )
            await self._emit(
                session,
                ev.CampaignUpdated(
                    **self._scope(updated),
                    title=updated.title,
                    changed_fields=sorted(set(update) - {"updated_at"}),
                ),
                updated,
            )
            await self._federate(session, updated)
            return updated

        return await in_transaction(self.client, work)

    async def transition(
        self, *, principal: Principal, campaign_id: UUID, transition: Transition
    ) -> Campaign:
        standing = await self._managed(principal, campaign_id)
        return await self._move(standing.campaign, transition, scheduled=False)

    async def _move(self, campaign: Campaign, transition: Transition, *, scheduled: bool) -> Campaign:
        target = next_status(campaign.status, transition)
        now = utcnow()
        if transition is Transition.LAUNCH and campaign.close_at is not None and campaign.close_at <= now:
            raise Conflict(
                "the campaign's close time has passed; change it before launching", field="close_at"
            )
        changes: dict[str, Any] = {"status": target.value, "updated_at": now}
        if transition is Transition.LAUNCH:
            changes["launched_at"] = now
        if transition is Transition.CLOSE:
            changes["closed_at"] = now

        async def work(session: Session) -> Campaign:
            moved = await self.repo.set_status(campaign.id, campaign.status, changes, session)
            if moved is None:
                current = await self.repo.get_campaign(campaign.id, session)
                assert current is not None
                raise Conflict(
                    "the campaign changed meanwhile; read it again", campaign_status=current.status.value
                )
            await self._emit(
                session,
                STATUS_EVENT[transition](
                    **self._scope(moved),
                    status=moved.status.value,
                    previous_status=campaign.status.value,
                    scheduled=scheduled,
                ),
                moved,
            )
            await self._federate(session, moved)
            return moved

        return await in_transaction(self.client, work)

    async def apply_schedule(self, campaign: Campaign) -> Campaign:
        """Apply a scheduled launch or close that has come due (whoever gets here first does it)."""
        transition = campaign.due_transition(utcnow())
        if transition is None:
            return campaign
        try:
            return await self._move(campaign, transition, scheduled=True)
        except Conflict:
            current = await self.repo.get_campaign(campaign.id)
            assert current is not None
            return current

    async def apply_due_schedules(self) -> int:
        moved = 0
        for campaign in await self.repo.due_campaigns(utcnow()):
            if (await self.apply_schedule(campaign)) is not campaign:
                moved += 1
        return moved

    # ---- adoption --------------------------------------------------------------------------------

    async def links(self, *, principal: Principal, campaign_id: UUID) -> tuple[Standing, list[Document]]:
        standing = await self.standing(principal=principal, campaign_id=campaign_id)
        return standing, await self.repo.links_of_campaign(campaign_id)

    async def adopt(
        self, *, principal: Principal, campaign_id: UUID, organization_id: UUID
    ) -> tuple[Document, bool]:
        """The organization's own link to the campaign; (link, created)."""
        self._require_organizer_of(principal, organization_id)
        campaign = await self.repo.get_campaign(campaign_id)
        if campaign is None:
            raise NotFound("no such campaign")
        if campaign.coalition_id is None:
            if campaign.owner_org_id != organization_id:  # others do not learn that it exists
                raise NotFound("no such campaign")
            raise Conflict("only coalition campaigns are adopted; this one belongs to one organization")
        membership = await self._membership(campaign.coalition_id, organization_id)
        if membership is None or membership["state"] not in ("active", "suspended"):
            raise NotFound("no such campaign")
        if membership["state"] != "active":
            raise Conflict(
                f"the organization's membership in the coalition is {membership['state']}",
                organization_id=str(organization_id),
            )
        if membership["role"] not in MEMBER_ROLES:
            raise Forbidden("observers follow a coalition's campaigns but do not adopt them")
        if campaign.status in (CampaignStatus.CLOSED, CampaignStatus.ARCHIVED):
            raise Conflict(
                f"a {campaign.status.value} campaign cannot be adopted",
                campaign_status=campaign.status.value,
            )
        now = utcnow()

        async def work(session: Session) -> tuple[Document, bool]:
            existing = await self.repo.link_of(campaign.id, organization_id, session)
            if existing is not None and existing["state"] == "active":
                return existing, False
            if not await self._is_active(campaign.coalition_id, organization_id, MEMBER_ROLES, session):  # type: ignore[arg-type]
                raise Conflict("the organization no longer takes part in the coalition")
            if existing is not None:
                link = await self.repo.set_link(
                    existing["_id"], {"state": "active", "updated_at": now}, session
                )
            else:
                link = self._link_doc(campaign, organization_id, "adopter", now)
                await self.repo.insert_link(link, session)
            await self._emit(
                session,
                ev.CampaignAdopted(**self._scope(campaign), organization_id=organization_id),
                campaign,
                organization_id,
            )
            await self._federate(session, campaign)
            return link, True

        return await in_transaction(self.client, work)

    async def withdraw_adoption(
        self, *, principal: Principal, campaign_id: UUID, organization_id: UUID
    ) -> Document:
        standing = await self.standing(principal=principal, campaign_id=campaign_id)
        if not (self.organizes(principal, organization_id) or standing.manages):
            raise Forbidden(
                "only the adopting organization's organizers or the campaign's managers withdraw it"
            )
        campaign = standing.campaign
        link = await self.repo.link_of(campaign.id, organization_id)
        if link is None or link["role"] != "adopter":
            raise NotFound("the organization has not adopted this campaign")
        if link["state"] != "active":
            return link
        return await in_transaction(
            self.client, lambda s: self._end_adoption(s, campaign, link["_id"], organization_id, "withdrawn")
        )

    async def _end_adoption(
        self, session: Session, campaign: Campaign, ref: str, org_id: UUID, reason: str
    ) -> Document:
        link = await self.repo.set_link(ref, {"state": "withdrawn", "updated_at": utcnow()}, session)
        await self._emit(
            session,
            ev.AdoptionWithdrawn(**self._scope(campaign), organization_id=org_id, reason=reason),
            campaign,
            org_id,
        )
        await self._federate(session, campaign)
        return link

    # ---- supporter actions (public) --------------------------------------------------------------

    async def public_link(self, ref: str) -> tuple[Document, Campaign, Document]:
        """The link, its campaign and statistics, for a public page; 404 unless the campaign is public."""
        link = await self.repo.get_link(ref)
        campaign = await self.repo.get_campaign(link["campaign_id"]) if link else None
        if link is None or campaign is None:
            raise NotFound("no such campaign link")
        campaign = await self.apply_schedule(campaign)
        if campaign.status not in PUBLIC_STATUSES:
            raise NotFound("no such campaign link")
        return link, campaign, await self.repo.get_stats(campaign.id)

    async def _action_link(self, ref: str) -> tuple[Document, Campaign]:
        """The link and its campaign for an action; unlike the public page, a draft or archived campaign
        is found, so that its actions are refused with a 409 that says why."""
        link = await self.repo.get_link(ref)
        campaign = await self.repo.get_campaign(link["campaign_id"]) if link else None
        if link is None or campaign is None:
            raise NotFound("no such campaign link")
        return link, await self.apply_schedule(campaign)

    def _check_consents(
        self, campaign: Campaign, kind: ActionKind, consents: dict[ConsentPurpose, str]
    ) -> None:
        for purpose, version in consents.items():
            current = campaign.consent_texts.get(purpose.value)
            if current is None or (purpose is ConsentPurpose.PUBLISH_STORY and kind is not ActionKind.STORY):
                raise InvalidInput(
                    f"this campaign asks no consent to {purpose.value}",
                    field="consents",
                    purposes=sorted(campaign.consent_texts),
                )
            if version != current["version"]:
                raise Conflict(
                    f"the consent text for {purpose.value} has changed; show the current text and ask again",
                    purpose=purpose.value,
                    current_version=current["version"],
                )

    async def record_action(
        self, *, ref: str, action: ActionInput, idempotency_key: str | None
    ) -> ActionResult:
        link, campaign = await self._action_link(ref)
        campaign.require_accepting(action.kind)
        if link["state"] != "active":
            raise Conflict(
                "this organization's link to the campaign was withdrawn", organization_id=str(link["org_id"])
            )
        self._check_consents(campaign, action.kind, action.consents)
        if (
            action.kind is ActionKind.LETTER
            and (action.details.get("body") or action.details.get("subject"))
            and not campaign.details.get("allow_personalisation")
        ):
            raise InvalidInput("this letter cannot be personalised", field="letter")
        scope_key = f"{ref}:{action.kind.value}:{idempotency_key}" if idempotency_key else None
        fingerprint = self.keys.fingerprint(
            {
                "kind": action.kind.value,
                "supporter": action.supporter.__dict__,
                "consents": {k.value: v for k, v in action.consents.items()},
                "details": action.details,
                "story": action.story,
            }
        )

        async def work(session: Session) -> ActionResult:
            if scope_key is not None:
                replay = await self._replay(scope_key, fingerprint, session)
                if replay is not None:
                    return replay
            result = await self._record(session, campaign, link, action)
            if scope_key is not None:
                now = utcnow()
                await self.repo.save_idempotent(
                    {
                        "_id": scope_key,
                        "fingerprint": fingerprint,
                        "status_code": result.status_code,
                        "body": result.body,
                        "created_at": now,
                        "expires_at": now + timedelta(hours=self.settings.idempotency_ttl_hours),
                    },
                    session,
                )
            return result

        for attempt in range(5):
            try:
                # One campaign's actions conflict on its counter document: queue them in this process
                # instead of letting their transactions abort and retry each other.
                async with self._campaign_lock(campaign.id):
                    return await in_transaction(self.client, work)
            except DuplicateKeyError:
                # Someone recorded the same supporter, action or key a moment ago: the next attempt sees it.
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    async def _replay(self, scope_key: str, fingerprint: str, session: Session) -> ActionResult | None:
        saved = await self.repo.get_idempotent(scope_key, session)
        if saved is None:
            return None
        if saved["expires_at"] <= utcnow():
            # Expired, but the TTL monitor has not removed it yet: the key starts afresh.
            await self.repo.delete_idempotent(scope_key, session)
            return None
        if saved["fingerprint"] != fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was already used with a different request", field="Idempotency-Key"
            )
        return ActionResult(saved["status_code"], {**saved["body"], "replayed": True})

    async def _record(
        self, session: Session, campaign: Campaign, link: Document, action: ActionInput
    ) -> ActionResult:
        now = utcnow()
        org_id: UUID = link["org_id"]
        if campaign.coalition_id is not None and not await self._is_active(
            campaign.coalition_id, org_id, ("lead", "member"), session
        ):
            raise Conflict(
                "the organization behind this link no longer takes part in the coalition",
                organization_id=str(org_id),
            )
        email_key = self.keys.email_key(campaign.id, action.supporter.email)
        supporter = await self.repo.supporter_by_email_key(email_key, session)
        new_supporter = supporter is None
        granted = {
            p.value: {"version": v, "given_at": now, "organization_id": org_id}
            for p, v in action.consents.items()
        }
        log = [
            {"purpose": p, "version": c["version"], "given_at": now, "action": action.kind.value}
            for p, c in granted.items()
        ]
        if supporter is None:
            s = action.supporter
            supporter = {
                "_id": uuid.uuid4(),
                "campaign_id": campaign.id,
                "coalition_id": campaign.coalition_id,
                "org_id": org_id,
                "email_key": email_key,
                "email": normalise_email(s.email),
                "first_name": s.first_name,
                "last_name": s.last_name,
                "postal_code": s.postal_code,
                "country": s.country,
                "consents": granted,
                "consent_log": log,
                "created_at": now,
                "erased_at": None,
            }
            await self.repo.insert_supporter(supporter, session)
        else:
            existing = await self.repo.find_action(campaign.id, action.kind.value, supporter["_id"], session)
            if existing is not None:
                return ActionResult(200, self._action_body(existing, already_recorded=True))
            new_grants = {
                f"consents.{p}": c for p, c in granted.items() if p not in supporter.get("consents", {})
            }
            if new_grants:
                supporter = await self.repo.update_supporter(
                    supporter["_id"],
                    {
                        "$set": new_grants,
                        "$push": {
                            "consent_log": {
                                "$each": [e for e in log if f"consents.{e['purpose']}" in new_grants]
                            }
                        },
                    },
                    session,
                )
        stats = await self.repo.get_stats(campaign.id, session)
        capacity = campaign.details.get("capacity") if action.kind is ActionKind.RSVP else None
        if capacity is not None and stats["counts"].get(ActionKind.RSVP.value, 0) >= capacity:
            raise Conflict("the event is full", capacity=campaign.details["capacity"])
        record = {
            "_id": uuid.uuid4(),
            "campaign_id": campaign.id,
            "kind": action.kind.value,
            "supporter_id": supporter["_id"],
            "org_id": org_id,
            "link": link["_id"],
            "details": action.details,
            "created_at": now,
        }
        await self.repo.insert_action(record, session)
        if action.kind is ActionKind.STORY:
            assert action.story is not None
            await self.repo.insert_story(
                {
                    "_id": uuid.uuid4(),
                    "campaign_id": campaign.id,
                    "action_id": record["_id"],
                    "supporter_id": supporter["_id"],
                    "org_id": org_id,
                    "title": action.story["title"],
                    "body": action.story["body"],
                    "name_form": action.story["name_form"],
                    "status": "submitted",
                    "submitted_at": now,
                },
                session,
            )
        kind = action.kind.value
        inc = {f"counts.{kind}": 1, f"by_org.{org_id}.{kind}": 1, f"daily.{now.date().isoformat()}.{kind}": 1}
        if new_supporter:
            inc |= {"unique_supporters": 1, f"supporters_by_org.{org_id}": 1}
        after = await self.repo.count_action(campaign.id, inc, session)
        await self._progress(session, campaign, after, now)
        consents = supporter.get("consents", {})
        contact = None
        if ConsentPurpose.CONTACT_BY_ORGANIZATION.value in consents and supporter["org_id"] == org_id:
            contact = ev.SupporterContact(
                email=supporter["email"],
                first_name=supporter["first_name"],
                last_name=supporter.get("last_name"),
            )
        shared = contact is not None and await self._shares_contacts(campaign, supporter, session)
        await self._emit(
            session,
            ev.ActionRecorded(
                **self._scope(campaign),
                action_id=record["_id"],
                kind=kind,
                organization_id=org_id,
                supporter_id=supporter["_id"],
                counts=after["counts"],
                organization_counts=after["by_org"].get(str(org_id), {}),
                unique_supporters=after["unique_supporters"],
                contact=contact,
                contact_shared_with_coalition=shared,
            ),
            campaign,
            org_id,
        )
        body = self._action_body(record, already_recorded=False)
        if new_supporter:
            body["supporter_token"] = self.keys.token(supporter["_id"])
        return ActionResult(201, body)

    async def _shares_contacts(
        self, campaign: Campaign, supporter: Document, session: Session | None = None
    ) -> bool:
        """Whether the coalition's members may see this supporter's contact details."""
        if campaign.coalition_id is None:
            return False
        if ConsentPurpose.SHARE_WITH_COALITION.value not in supporter.get("consents", {}):
            return False
        membership = await self._membership(campaign.coalition_id, supporter["org_id"], session)
        return membership is not None and membership.get("sharing_level") == "contacts_with_consent"

    @staticmethod
    def _action_body(record: Document, *, already_recorded: bool) -> dict[str, Any]:
        return {
            "action": {
                "id": str(record["_id"]),
                "campaign_id": str(record["campaign_id"]),
                "kind": record["kind"],
                "organization_id": str(record["org_id"]),
                "created_at": record["created_at"].isoformat(),
            },
            "already_recorded": already_recorded,
        }

    async def _progress(self, session: Session, campaign: Campaign, stats: Document, now: datetime) -> None:
        """Milestones crossed by this action (each exactly once: the stats document serialises actions)."""
        goal = campaign.goal
        value = goal.value(stats["counts"], stats["unique_supporters"])
        reached = {int(m["milestone"]) for m in stats.get("milestones", [])}
        crossed = milestones_crossed(goal, value, reached)
        if crossed:
            await self.repo.add_milestones(
                campaign.id, [{"milestone": m, "value": value, "reached_at": now} for m in crossed], session
            )
        for milestone in crossed:
            facts = {
                "milestone": milestone,
                "metric": goal.metric.value,
                "value": value,
                "target": goal.target,
            }
            await self._emit(session, ev.MilestoneReached(**self._scope(campaign), **facts), campaign)
            await self._emit(session, ev.FederatedMilestone(**self._scope(campaign), **facts), campaign)
        await self._emit(
            session,
            ev.FederatedProgress(
                **self._scope(campaign),
                counts=stats["counts"],
                organization_counts=stats["by_org"],
                unique_supporters=stats["unique_supporters"],
                goal_value=value,
                goal_target=goal.target,
                goal_percent=goal.percent(value),
            ),
            campaign,
        )

    # ---- statistics and contacts -----------------------------------------------------------------

    async def statistics(self, *, principal: Principal, campaign_id: UUID) -> tuple[Campaign, Document]:
        standing = await self.standing(principal=principal, campaign_id=campaign_id)
        return standing.campaign, await self.repo.get_stats(campaign_id)

    async def contacts(
        self,
        *,
        principal: Principal,
        campaign_id: UUID,
        organization_id: UUID,
        own_only: bool = False,
        after: UUID | None = None,
        limit: int = 0,
    ) -> list[Document]:
        """Supporters whose contact details `organization_id` may see, for its organizers.

        Its own supporters who consented to be contacted by it; in a coalition campaign, also the
        supporters of organizations whose agreement is `contacts_with_consent` who agreed to share with the
        coalition, when `organization_id` is an active lead or member.
        """
        if not self.organizes(principal, organization_id):
            raise Forbidden("only the organization's organizers, admins and owners read its supporters")
        standing = await self.standing(principal=principal, campaign_id=campaign_id)
        campaign = standing.campaign
        if organization_id not in standing.viewer_orgs:
            raise Forbidden("the organization does not take part in this campaign")
        own = {
            "org_id": organization_id,
            f"consents.{ConsentPurpose.CONTACT_BY_ORGANIZATION.value}": {"$exists": True},
        }
        clauses: list[dict[str, Any]] = [own]
        if (
            not own_only
            and campaign.coalition_id is not None
            and await self._is_active(campaign.coalition_id, organization_id, MEMBER_ROLES)
        ):
            sharing = [
                d["org_id"]
                for d in await self.repo.memberships_of_coalition(campaign.coalition_id)
                if d.get("sharing_level") == "contacts_with_consent" and d["org_id"] != organization_id
            ]
            if sharing:
                clauses.append(
                    {
                        "org_id": {"$in": sharing},
                        f"consents.{ConsentPurpose.SHARE_WITH_COALITION.value}": {"$exists": True},
                    }
                )
        return await self.repo.supporters_of(campaign_id, {"$or": clauses}, after=after, limit=limit)

    # ---- stories ---------------------------------------------------------------------------------

    async def stories(
        self, *, principal: Principal, campaign_id: UUID, statuses: list[str], after: UUID | None, limit: int
    ) -> list[Document]:
        await self._managed(principal, campaign_id)
        return await self.repo.stories_of(campaign_id, statuses, after=after, limit=limit)

    async def moderate(
        self, *, principal: Principal, campaign_id: UUID, story_id: UUID, decision: str, reason: str | None
    ) -> Document:
        standing = await self._managed(principal, campaign_id)
        campaign = standing.campaign
        expected, target = {
            "approve": (["submitted"], "approved"),
            "reject": (["submitted", "approved"], "rejected"),
            "publish": (["approved"], "published"),
            "unpublish": (["published"], "approved"),
        }[decision]
        now = utcnow()

        async def work(session: Session) -> Document:
            story = await self.repo.get_story(story_id, session)
            if story is None or story["campaign_id"] != campaign_id:
                raise NotFound("no such story")
            if story["status"] not in expected:
                raise Conflict(
                    f"a {story['status']} story cannot be {target}",
                    story_status=story["status"],
                    allowed_from=expected,
                )
            changes: dict[str, Any] = {
                "status": target,
                "moderated_at": now,
                "moderated_by": principal.subject,
            }
            if reason:
                changes["reason"] = reason
            if target == "published":
                supporter = await self.repo.get_supporter(story["supporter_id"], session)
                if supporter is None or supporter.get("erased_at") is not None:
                    raise Conflict("the supporter's data was erased")
                if ConsentPurpose.PUBLISH_STORY.value not in supporter.get("consents", {}):
                    raise Conflict("the supporter has not agreed to publication (or withdrew it)")
                changes["published_at"] = now
                changes["display_name"] = display_name(
                    NameForm(story["name_form"]), supporter.get("first_name"), supporter.get("last_name")
                )
            updated = await self.repo.set_story(story_id, expected, changes, session)
            assert updated is not None
            if target == "published":
                await self._emit(
                    session,
                    ev.StoryPublished(
                        **self._scope(campaign), story_id=story_id, organization_id=story["org_id"]
                    ),
                    campaign,
                    story["org_id"],
                )
            return updated

        return await in_transaction(self.client, work)

    async def published_stories(self, *, campaign_id: UUID, after: UUID | None, limit: int) -> list[Document]:
        campaign = await self.repo.get_campaign(campaign_id)
        if campaign is None or campaign.status not in PUBLIC_STATUSES:
            raise NotFound("no such campaign")
        return await self.repo.stories_of(campaign_id, ["published"], after=after, limit=limit)

    # ---- consent and erasure ---------------------------------------------------------------------

    async def supporter_by_token(self, token: str) -> Document:
        supporter = await self.repo.get_supporter(self.keys.supporter_of(token))
        if supporter is None:
            raise NotFound("no such supporter")
        if supporter.get("erased_at") is not None:
            raise Gone("this supporter's data was erased")
        return supporter

    async def withdraw_consent(self, *, token: str, purposes: list[ConsentPurpose]) -> Document:
        supporter = await self.supporter_by_token(token)
        campaign = await self.repo.get_campaign(supporter["campaign_id"])
        assert campaign is not None
        now = utcnow()

        async def work(session: Session) -> Document:
            current = await self.repo.get_supporter(supporter["_id"], session)
            if current is None or current.get("erased_at") is not None:
                raise Gone("this supporter's data was erased")
            held = [p for p in purposes if p.value in current.get("consents", {})]
            if not held:
                return current
            updated = await self.repo.update_supporter(
                current["_id"],
                {
                    "$unset": {f"consents.{p.value}": "" for p in held},
                    "$push": {
                        "consent_log": {"$each": [{"purpose": p.value, "withdrawn_at": now} for p in held]}
                    },
                },
                session,
            )
            if ConsentPurpose.PUBLISH_STORY in held:
                await self.repo.withdraw_publication(current["_id"], now, session)
            if ConsentPurpose.CONTACT_BY_ORGANIZATION in held:
                await self._redact_outbox(current["_id"], session)
            await self._emit(
                session,
                ev.ConsentWithdrawn(
                    **self._scope(campaign),
                    supporter_id=current["_id"],
                    organization_id=current["org_id"],
                    purposes=[p.value for p in held],
                ),
                campaign,
                current["org_id"],
            )
            return updated

        return await in_transaction(self.client, work)

    async def erase_by_token(self, *, token: str) -> None:
        supporter = await self.supporter_by_token(token)
        await self._erase(supporter, "supporter")

    async def erase_by_organization(
        self, *, principal: Principal, organization_id: UUID, supporter_id: UUID
    ) -> None:
        if not (principal.platform_admin or self.administers(principal, organization_id)):
            raise Forbidden("only the organization's admins and owners erase its supporters")
        supporter = await self.repo.get_supporter(supporter_id)
        if supporter is None or supporter["org_id"] != organization_id:
            raise NotFound("no such supporter of this organization")
        if supporter.get("erased_at") is not None:
            return
        await self._erase(supporter, "organization")

    async def _erase(self, supporter: Document, requested_by: str) -> None:
        campaign = await self.repo.get_campaign(supporter["campaign_id"])
        assert campaign is not None

        async def work(session: Session) -> None:
            await self.repo.erase_supporter(supporter["_id"], utcnow(), session)
            await self._redact_outbox(supporter["_id"], session)
            await self._emit(
                session,
                ev.SupporterErased(
                    **self._scope(campaign),
                    supporter_id=supporter["_id"],
                    organization_id=supporter["org_id"],
                    requested_by=requested_by,
                ),
                campaign,
                supporter["org_id"],
            )

        await in_transaction(self.client, work)

    async def _redact_outbox(self, supporter_id: UUID, session: Session) -> None:
        """Drop contact details from this supporter's events still held in the outbox."""
        await self.repo.db[OUTBOX].update_many(
            {"event.data.supporter_id": str(supporter_id), "event.data.contact": {"$exists": True}},
            {
                "$unset": {"event.data.contact": ""},
                "$set": {"event.data.contact_shared_with_coalition": False},
            },
            session=session,
        )

    # ---- the coalition projection ----------------------------------------------------------------

    async def coalition_seen(self, *, coalition_id: UUID, fields: dict[str, Any], session: Session) -> None:
        await self.repo.upsert_coalition(coalition_id, fields, session)

    async def membership_changed(self, *, payload: Any, session: Session) -> None:
        """Keep the membership as it is after the change; a departed member's adoptions end."""
        doc = {
            "coalition_id": payload.coalition_id,
            "org_id": payload.organization_id,
            "role": payload.role,
            "state": payload.state,
            "sharing_level": payload.sharing_level,
            "updated_at": utcnow(),
        }
        await self.repo.upsert_membership(doc, session)
        await self.repo.ensure_coalition(payload.coalition_id, session)
        if payload.state in ("left", "removed"):
            for link in await self.repo.active_adopter_links(
                payload.coalition_id, payload.organization_id, session
            ):
                campaign = await self.repo.get_campaign(link["campaign_id"], session)
                assert campaign is not None
                await self._end_adoption(
                    session, campaign, link["_id"], payload.organization_id, payload.state
                )
