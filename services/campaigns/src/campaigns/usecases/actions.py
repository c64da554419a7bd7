"""The action intake: a supporter's action on a public link, recorded by inserts only.

One transaction holds what belongs to this action alone: the supporter (unique per campaign and
keyed e-mail), the action (unique per campaign, kind and supporter), the idempotency record and an
unordered outbox record. Nothing that every other action of the campaign also writes: totals, goal
progress and milestones are the aggregator's (`campaigns.aggregator`), so concurrent actions on one
campaign never conflict. The link, campaign and membership it needs come from `Lookups`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from uuid import UUID

from pymongo.errors import DuplicateKeyError

from campaigns.domain.campaigns import PUBLIC_STATUSES, ActionKind, Campaign
from campaigns.domain.languages import Localized, localize
from campaigns.domain.supporters import ConsentPurpose, normalise_email
from campaigns.repository import ActionRecord, Link, Supporter
from campaigns.usecases.base import MEMBER_ROLES
from campaigns.usecases.challenge import Challenges
from campaigns.usecases.lifecycle import Lifecycle
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Conflict, InvalidInput, NotFound
from common.events import utcnow
from common.mongo import Document, Session, in_transaction

ATTEMPTS = 8  # a duplicate key means someone recorded the same person, action, key or seat just now


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
    language: str | None = None  # the page's language: whose consent texts were shown, the mails' language
    # Letters: the decision-makers chosen at the time of action (campaigns.usecases.letters); not part of
    # the request's fingerprint, since a directory edit between two retries changes nothing asked.
    targets: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Recorded:
    """The outcome of an action request: the action, and how it came about."""

    action: ActionRecord
    already_recorded: bool = False
    replayed: bool = False
    supporter_token: str | None = None  # only to the request that created the supporter, never replayed
    pending: bool = False  # held until the supporter confirms it from their e-mail (double opt-in)


@dataclass(frozen=True)
class Party:
    """An organization or coalition as a public page names it (the name is None until its events came)."""

    id: UUID
    name: str | None
    logo_url: str | None = None
    privacy_notice_url: str | None = None


@dataclass(frozen=True)
class PublicPage:
    """Everything a supporter's page shows of a link: the campaign in one language, whose link it is,
    the owner and coalition, and the totals."""

    link: Link
    campaign: Campaign
    texts: Localized
    stats: Document
    organization: Party
    owner: Party
    coalition: Party | None
    embed_origins: tuple[str, ...]


class Actions(Challenges, Lifecycle):
    """Public action links: the campaign page's facts and recording actions."""

    async def _party(self, org_id: UUID) -> tuple[Party, tuple[str, ...]]:
        profile = await self.lookups.organization(org_id)
        if profile is None:
            return Party(id=org_id, name=None), ()
        party = Party(
            id=org_id,
            name=profile.name,
            logo_url=profile.logo_url,
            privacy_notice_url=profile.privacy_notice_url,
        )
        return party, profile.embed_origins

    async def public_page(self, ref: str, language: str | None = None) -> PublicPage:
        """A link's public page in `language` (falling back to the campaign's default, field by field)."""
        link, campaign, stats = await self.public_link(ref)
        organization, origins = await self._party(link.org_id)
        owner = (
            organization
            if campaign.owner_org_id == link.org_id
            else (await self._party(campaign.owner_org_id))[0]
        )
        coalition = None
        if campaign.coalition_id is not None:
            doc = await self.repo.get_coalition(campaign.coalition_id)
            coalition = Party(id=campaign.coalition_id, name=(doc or {}).get("name"))
        return PublicPage(
            link=link,
            campaign=campaign,
            texts=localize(campaign, language),
            stats=stats,
            organization=organization,
            owner=owner,
            coalition=coalition,
            embed_origins=origins,
        )

    async def embed_origins(self, ref: str) -> tuple[str, ...]:
        """The origins allowed to embed this link's page or call its public API from a browser (the
        embed_origins of the organization whose link it is); none for an unknown link."""
        link = await self.lookups.link(ref)
        if link is None:
            return ()
        return (await self._party(link.org_id))[1]

    async def public_link(self, ref: str) -> tuple[Link, Campaign, Document]:
        """The link, its campaign and statistics, for a public page; 404 unless the campaign is public."""
        link = await self.lookups.link(ref)
        campaign = await self.lookups.campaign(link.campaign_id) if link else None
        if link is None or campaign is None:
            raise NotFound("no such campaign link")
        campaign = campaign.as_of(utcnow())  # a read: a due schedule shows, the worker records it
        if campaign.status not in PUBLIC_STATUSES:
            raise NotFound("no such campaign link")
        return link, campaign, await self.repo.get_stats(campaign.id)

    async def statistics(self, *, principal: Principal, campaign_id: UUID) -> tuple[Campaign, Document]:
        """Totals as the aggregator has counted them (within a second of each action at campaign scale)."""
        standing = await self.standing(principal=principal, campaign_id=campaign_id)
        return standing.campaign, await self.repo.get_stats(campaign_id)

    async def _action_link(self, ref: str) -> tuple[Link, Campaign]:
        """The link and its campaign for an action; unlike the public page, a draft or archived campaign
        is found, so that its actions are refused with a 409 that says why."""
        link = await self.lookups.link(ref)
        campaign = await self.lookups.campaign(link.campaign_id) if link else None
        if link is None or campaign is None:
            raise NotFound("no such campaign link")
        return link, await self.apply_schedule(campaign)

    def _check_consents(
        self, campaign: Campaign, kind: ActionKind, consents: dict[ConsentPurpose, str], language: str | None
    ) -> None:
        shown = localize(campaign, language).consent_texts
        for purpose, version in consents.items():
            current = shown.get(purpose.value)
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
        self,
        *,
        ref: str,
        action: ActionInput,
        idempotency_key: str | None,
        altcha: str | None = None,
        honeypot: str | None = None,
        challenge: bool = True,
    ) -> Recorded:
        """Record a supporter's action on a public link (or hold it for confirmation: double opt-in).

        With `challenge` (every public form), the solved proof-of-work `altcha` is verified and spent
        when the service requires it, and a filled `honeypot` is refused."""
        link, campaign = await self._action_link(ref)
        await self._check_taking(link, campaign, action.kind)
        action = replace(action, language=localize(campaign, action.language).language)
        self._check_consents(campaign, action.kind, action.consents, action.language)
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
                "language": action.language,
            }
        )

        if challenge:
            # A retry of a request that passed (same key, same body) replays without a new proof-of-work.
            if scope_key is not None and self.settings.public_challenge_required:
                replay = await self._replayable(scope_key, fingerprint)
                if replay is not None:
                    return replay
            await self.verify_challenge(altcha, honeypot)

        # First try as if this were a new supporter with a fresh key (what a surge of new supporters is):
        # inserts only, no reads. A unique index refuses a known supporter or a used key, the
        # transaction aborts with nothing written, and the next attempt looks them up first.
        optimistic = True

        async def work(session: Session) -> Recorded:
            if scope_key is not None and not optimistic:
                replay = await self._replay(scope_key, fingerprint, session)
                if replay is not None:
                    return replay
            recorded = await self._intake(session, campaign, link, action, look_up=not optimistic)
            if scope_key is not None:
                now = utcnow()
                # The first result, without any secret: a replay says what happened, nothing more.
                await self.repo.save_idempotent(
                    {
                        "_id": scope_key,
                        "fingerprint": fingerprint,
                        "action": recorded.action.document(),
                        "already_recorded": recorded.already_recorded,
                        "pending": recorded.pending,
                        "supporter_id": recorded.action.supporter_id,
                        "created_at": now,
                        "expires_at": now + timedelta(hours=self.settings.idempotency_ttl_hours),
                    },
                    session,
                )
            return recorded

        for attempt in range(ATTEMPTS):
            try:
                return await in_transaction(self.client, work)
            except DuplicateKeyError:
                optimistic = False
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _intake(
        self, session: Session, campaign: Campaign, link: Link, action: ActionInput, *, look_up: bool
    ) -> Recorded:
        """Record the action (double opt-in, `usecases.verification`, holds some for confirmation)."""
        return await self._record(session, campaign, link, action, look_up=look_up)

    async def _check_taking(self, link: Link, campaign: Campaign, kind: ActionKind) -> None:
        """409 unless the campaign takes `kind` actions now through this link."""
        campaign.require_accepting(kind)
        if link.state != "active":
            raise Conflict(
                "this organization's link to the campaign was withdrawn", organization_id=str(link.org_id)
            )
        if campaign.coalition_id is not None:
            membership = await self.lookups.membership(campaign.coalition_id, link.org_id)
            if membership is None or not membership.is_active(MEMBER_ROLES):
                raise Conflict(
                    "the organization behind this link no longer takes part in the coalition",
                    organization_id=str(link.org_id),
                )

    async def _replayable(self, scope_key: str, fingerprint: str) -> Recorded | None:
        """The first result of this very request, when it was recorded under this key (a read only)."""
        saved = await self.repo.get_idempotent(scope_key)
        if saved is None or "action" not in saved or saved["expires_at"] <= utcnow():
            return None
        if saved["fingerprint"] != fingerprint:
            return None  # refused with 422 in the transaction, once the proof-of-work is checked
        return Recorded(
            ActionRecord.of(saved["action"]),
            already_recorded=saved["already_recorded"],
            replayed=True,
            pending=saved.get("pending", False),
        )

    async def _replay(self, scope_key: str, fingerprint: str, session: Session) -> Recorded | None:
        saved = await self.repo.get_idempotent(scope_key, session)
        if saved is None:
            return None
        if saved["expires_at"] <= utcnow() or "action" not in saved:
            # Expired but not swept yet, or stored by an earlier version with its secrets: start afresh.
            await self.repo.delete_idempotent(scope_key, session)
            return None
        if saved["fingerprint"] != fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was already used with a different request", field="Idempotency-Key"
            )
        return Recorded(
            ActionRecord.of(saved["action"]),
            already_recorded=saved["already_recorded"],
            replayed=True,
            pending=saved.get("pending", False),
        )

    async def _record(
        self,
        session: Session,
        campaign: Campaign,
        link: Link,
        action: ActionInput,
        *,
        look_up: bool,
        supporter_id: UUID | None = None,
        page_digest: str | None = None,
    ) -> Recorded:
        """Insert the action (and the supporter if new) with its outbox record. A confirmed action
        brings the supporter's id chosen when it was held, and the digest of their pages' token."""
        now = utcnow()
        org_id = link.org_id
        email_key = self.keys.email_key(campaign.id, action.supporter.email)
        supporter = await self.repo.supporter_by_email_key(email_key, session) if look_up else None
        granted = {
            p.value: {"version": v, "given_at": now, "organization_id": org_id}
            for p, v in action.consents.items()
        }
        log = [
            {
                "purpose": p,
                "version": c["version"],
                "given_at": now,
                "action": action.kind.value,
                "language": action.language,
            }
            for p, c in granted.items()
        ]
        new_supporter = supporter is None
        if supporter is None:
            s = action.supporter
            supporter = await self.repo.insert_supporter(
                {
                    "_id": supporter_id or uuid.uuid4(),
                    "campaign_id": campaign.id,
                    "coalition_id": campaign.coalition_id,
                    "org_id": org_id,
                    "email_key": email_key,
                    **({"page_digests": [page_digest]} if page_digest else {}),
                    "email": normalise_email(s.email),
                    "first_name": s.first_name,
                    "last_name": s.last_name,
                    "postal_code": s.postal_code,
                    "country": s.country,
                    "consents": granted,
                    "consent_log": log,
                    "created_at": now,
                    "erased_at": None,
                },
                session,
            )
        else:
            if page_digest is not None:
                await self.repo.add_page_digest(supporter.id, page_digest, session)
            existing = await self.repo.find_action(campaign.id, action.kind.value, supporter.id, session)
            if existing is not None:
                return Recorded(existing, already_recorded=True)
            new_grants = {p: c for p, c in granted.items() if p not in supporter.consents}
            if new_grants:
                supporter = await self.repo.grant_consents(
                    supporter.id, new_grants, [e for e in log if e["purpose"] in new_grants], session
                )
        capacity = campaign.details.get("capacity") if action.kind is ActionKind.RSVP else None
        if capacity is not None and not await self.repo.take_seat(campaign.id, capacity, session):
            raise Conflict("the event is full", capacity=capacity)
        record = ActionRecord(
            id=uuid.uuid4(),
            campaign_id=campaign.id,
            kind=action.kind.value,
            supporter_id=supporter.id,
            org_id=org_id,
            link=link.ref,
            details=action.details,
            created_at=now,
            language=action.language,
        )
        await self.repo.insert_action(record, session)
        if action.kind is ActionKind.STORY:
            assert action.story is not None
            await self.repo.insert_story(
                {
                    "_id": uuid.uuid4(),
                    "campaign_id": campaign.id,
                    "action_id": record.id,
                    "supporter_id": supporter.id,
                    "org_id": org_id,
                    "title": action.story["title"],
                    "body": action.story["body"],
                    "name_form": action.story["name_form"],
                    "status": "submitted",
                    "submitted_at": now,
                },
                session,
            )
        contact = None
        if ConsentPurpose.CONTACT_BY_ORGANIZATION.value in supporter.consents and supporter.org_id == org_id:
            assert supporter.email is not None
            assert supporter.first_name is not None
            contact = ev.SupporterContact(
                email=supporter.email, first_name=supporter.first_name, last_name=supporter.last_name
            )
        shared = contact is not None and await self._shares_contacts(campaign, supporter)
        await self._emit(
            session,
            ev.ActionRecorded(
                **self._scope(campaign),
                action_id=record.id,
                kind=action.kind.value,
                organization_id=org_id,
                supporter_id=supporter.id,
                recorded_at=now,
                contact=contact,
                contact_shared_with_coalition=shared,
            ),
            campaign,
            org_id,
            ordered=False,  # actions stand on their own: no per-campaign sequence to contend for
        )
        token = self.keys.token(supporter.id) if new_supporter and page_digest is None else None
        return Recorded(record, supporter_token=token)

    async def _shares_contacts(self, campaign: Campaign, supporter: Supporter) -> bool:
        """Whether the coalition's members may see this supporter's contact details."""
        if campaign.coalition_id is None:
            return False
        if ConsentPurpose.SHARE_WITH_COALITION.value not in supporter.consents:
            return False
        membership = await self.lookups.membership(campaign.coalition_id, supporter.org_id)
        return membership is not None and membership.sharing_level == "contacts_with_consent"
