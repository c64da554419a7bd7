"""Campaigns: creation, listing, edits, lifecycle transitions and scheduled launch and close."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from campaigns.domain.campaigns import (
    ACTIONS_OF,
    EDITABLE_STATUSES,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Goal,
    GoalMetric,
    Transition,
    next_status,
)
from campaigns.domain.details import validate_details
from campaigns.domain.languages import DEFAULT_LANGUAGE, TRANSLATABLE_DETAILS
from campaigns.domain.supporters import (
    DEFAULT_CONSENT_TEXTS,
    ConsentPurpose,
    consent_version,
)
from campaigns.usecases.access import Access
from campaigns.usecases.base import READ_SCOPE, STATUS_EVENT, WRITE_SCOPE
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Conflict, Forbidden, InvalidInput
from common.events import utcnow
from common.mongo import Session, in_transaction


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
    double_opt_in: bool | None = None  # None: on for petitions and letters
    default_language: str = DEFAULT_LANGUAGE.value
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)  # language -> given fields


DOUBLE_OPT_IN_BY_DEFAULT = frozenset({CampaignKind.PETITION, CampaignKind.LETTER})
ALL_TRANSLATABLE = frozenset(f for fields in TRANSLATABLE_DETAILS.values() for f in fields)


def translations_of(
    kind: CampaignKind,
    default_language: str,
    given: dict[str, dict[str, Any]],
    consent_texts: dict[str, dict[str, str]],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, str]]]]:
    """The translations as stored, and the translated consent texts with their versions; 422 for a
    translation of the default language, of a text the kind does not have, or of a consent not asked."""
    translations: dict[str, dict[str, Any]] = {}
    consents: dict[str, dict[str, dict[str, str]]] = {}
    allowed = TRANSLATABLE_DETAILS[kind]
    for language, fields in given.items():
        where = f"translations.{language}"
        if language == default_language:
            raise InvalidInput(
                "the default language's texts are the campaign's own fields, not a translation", field=where
            )
        stray = sorted(k for k in ALL_TRANSLATABLE if fields.get(k) is not None and k not in allowed)
        if stray:
            raise InvalidInput(
                f"a {kind.value} campaign has no {stray[0]} to translate", field=f"{where}.{stray[0]}"
            )
        entry: dict[str, Any] = {k: fields[k] for k in ("title", "summary") if fields.get(k) is not None}
        entry["details"] = {k: fields[k] for k in allowed if fields.get(k) is not None}
        texts: dict[str, dict[str, str]] = {}
        for purpose, text in (fields.get("consent_texts") or {}).items():
            purpose = ConsentPurpose(purpose).value
            if purpose not in consent_texts:
                raise InvalidInput(
                    f"this campaign asks no consent to {purpose}",
                    field=f"{where}.consent_texts",
                    purposes=sorted(consent_texts),
                )
            if purpose == ConsentPurpose.PUBLISH_STORY.value:
                continue  # a story collection's consent to publication is its details' consent_text
            texts[purpose] = {"version": consent_version(text), "text": text}
        story_consent = entry["details"].get("consent_text")
        if story_consent and ConsentPurpose.PUBLISH_STORY.value in consent_texts:
            texts[ConsentPurpose.PUBLISH_STORY.value] = {
                "version": consent_version(story_consent),
                "text": story_consent,
            }
        translations[language] = entry
        if texts:
            consents[language] = texts
    return translations, consents


class Lifecycle(Access):
    """Creating, listing, editing and moving campaigns through their lifecycle (and schedules)."""

    # ---- campaigns -------------------------------------------------------------------------------

    def _check_goal(self, kind: CampaignKind, goal: Goal, now: datetime, *, new: bool) -> None:
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
        principal.require_scope(WRITE_SCOPE)
        self._require_organizer_of(principal, new.organization_id)
        new = replace(new, kind=CampaignKind(new.kind))  # the API passes the kind as a plain str
        now = utcnow()
        details = validate_details(new.kind, new.details)
        self._check_goal(new.kind, new.goal, now, new=True)
        self._check_schedule(new.launch_at, new.close_at)
        consent_texts = self._consent_texts(
            new.kind, details, new.consent_texts, new.coalition_id is not None
        )
        translations, consent_translations = translations_of(
            new.kind, new.default_language, new.translations, consent_texts
        )
        double_opt_in = new.double_opt_in
        if double_opt_in is None:
            double_opt_in = new.kind in DOUBLE_OPT_IN_BY_DEFAULT
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
            consent_texts=consent_texts,
            double_opt_in=double_opt_in,
            default_language=new.default_language,
            translations=translations,
            consent_translations=consent_translations,
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

    async def list_campaigns(
        self, *, principal: Principal, organization_id: UUID, after: UUID | None, limit: int
    ) -> list[Campaign]:
        """Campaigns an organization owns, or that its coalitions run."""
        principal.require_scope(READ_SCOPE)
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
        if changes.get("double_opt_in") is not None and changes["double_opt_in"] != campaign.double_opt_in:
            update["double_opt_in"] = changes["double_opt_in"]
        language = changes.get("default_language") or campaign.default_language
        if language != campaign.default_language:
            update["default_language"] = language
        if changes.get("translations") is not None or "default_language" in update or "details" in update:
            wanted: dict[str, dict[str, Any]] | None = changes.get("translations")
            if wanted is None:  # keep the translations as given before, checked against the new fields
                wanted = {
                    lang: {
                        **{k: v for k, v in t.items() if k != "details"},
                        **t.get("details", {}),
                        "consent_texts": {
                            p: c["text"]
                            for p, c in campaign.consent_translations.get(lang, {}).items()
                            if p != ConsentPurpose.PUBLISH_STORY.value
                        },
                    }
                    for lang, t in campaign.translations.items()
                }
            translations, consent_translations = translations_of(
                campaign.kind,
                language,
                wanted,
                update.get("consent_texts", campaign.consent_texts),
            )
            if translations != campaign.translations:
                update["translations"] = translations
            if consent_translations != campaign.consent_translations:
                update["consent_translations"] = consent_translations
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

        return await self._changing(work)

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

        return await self._changing(work)

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
