"""Verified actions (double opt-in): a new supporter's action is held until they confirm it by e-mail.

On a campaign with `double_opt_in`, an action whose address the organization behind the link has not
seen confirmed is not recorded: it is held in `pending_actions` (its supporter, consents and texts, an
expiry) and `campaigns.action.pending` asks the notifications service to mail the confirmation link.
Nothing of it is counted, delivered to partners or exported: it is not an action yet. Confirming runs
the ordinary intake (`Actions._record`) in the transaction that closes the pending record, so the
action is recorded, announced (`campaigns.action.recorded`) and counted by the aggregator exactly once;
a second confirmation finds the record closed. The address is then known as confirmed for the
organization, and its next actions are recorded at once. Unconfirmed actions are erased by the
worker's sweeper once expired.

The links' tokens never exist here in clear beyond the request that uses them: they are derived (by
the mailer, common.links) from the pending action's id and the supporter's id; this service keeps
only their digests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from campaigns.domain.campaigns import ActionKind, Campaign
from campaigns.domain.languages import localize
from campaigns.domain.supporters import ConsentPurpose
from campaigns.repository import ActionRecord, Link
from campaigns.targets_repository import Target
from campaigns.usecases.actions import ATTEMPTS, ActionInput, Actions, Recorded, SupporterInput
from common.contracts import campaigns as ev
from common.errors import Conflict, Gone, NotFound
from common.events import utcnow
from common.links import ACTION_CONFIRMATION, SUPPORTER_PAGES, derive_link_token, token_digest
from common.mongo import Document, Session, in_transaction

# How long the record of a used confirmation link is kept (to answer a second use with 409, not 404).
CONFIRMED_RECORD_DAYS = 30


class AlreadyConfirmed(Conflict):
    code, title = "already-confirmed", "Already confirmed"


@dataclass(frozen=True)
class Confirmed:
    """The outcome of a confirmation: the action as recorded (or as it was already)."""

    campaign_id: uuid.UUID
    link_ref: str
    action: ActionRecord
    already_recorded: bool = False


class Verification(Actions):
    """Holding actions for confirmation, confirming them, and erasing those never confirmed."""

    def _tokens(self, pending_id: uuid.UUID, supporter_ref: uuid.UUID) -> tuple[str, str]:
        secret = self.settings.link_secret
        return (
            derive_link_token(secret, ACTION_CONFIRMATION, pending_id),
            derive_link_token(secret, SUPPORTER_PAGES, supporter_ref),
        )

    async def _intake(
        self, session: Session, campaign: Campaign, link: Link, action: ActionInput, *, look_up: bool
    ) -> Recorded:
        if campaign.double_opt_in:
            key = self.keys.address_key(link.org_id, action.supporter.email)
            if not await self.repo.address_confirmed(key, session):
                return await self._hold(session, campaign, link, action)
        return await super()._intake(session, campaign, link, action, look_up=look_up)

    async def _hold(self, session: Session, campaign: Campaign, link: Link, action: ActionInput) -> Recorded:
        now = utcnow()
        email_key = self.keys.email_key(campaign.id, action.supporter.email)
        known = await self.repo.supporter_by_email_key(email_key, session)
        if known is not None:
            existing = await self.repo.find_action(campaign.id, action.kind.value, known.id, session)
            if existing is not None:
                return Recorded(existing, already_recorded=True)
        held = await self.repo.pending_of(campaign.id, action.kind.value, email_key, session)
        if held is not None and held["expires_at"] > now:
            # Asked before and not confirmed yet: the first e-mail stands (no second one to the address).
            return Recorded(_held_action(held), pending=True)
        if held is not None:
            await self.repo.delete_pending(held["_id"], session)
        pending_id, supporter_ref = uuid.uuid4(), uuid.uuid4()
        confirm_token, pages_token = self._tokens(pending_id, supporter_ref)
        expires_at = now + timedelta(hours=self.settings.confirmation_ttl_hours)
        doc: Document = {
            "_id": pending_id,
            "status": "pending",
            "campaign_id": campaign.id,
            "kind": action.kind.value,
            "email_key": email_key,
            "link": link.ref,
            "org_id": link.org_id,
            "supporter_ref": supporter_ref,
            "supporter": dict(action.supporter.__dict__),
            "consents": {p.value: v for p, v in action.consents.items()},
            "details": action.details,
            "story": action.story,
            "language": action.language,
            # A letter's decision-makers as chosen now (by location: from the supporter's place), sent to
            # once confirmed, at the versions the supporter was shown.
            "targets": [t.document() for t in action.targets],
            "confirm_digest": token_digest(confirm_token),
            "page_digest": token_digest(pages_token),
            "created_at": now,
            "expires_at": expires_at,
        }
        await self.repo.insert_pending(doc, session)
        organization = await self.lookups.organization(link.org_id)
        await self._emit(
            session,
            ev.ActionPending(
                **self._scope(campaign),
                action_id=pending_id,
                supporter_ref=supporter_ref,
                kind=action.kind.value,
                organization_id=link.org_id,
                email=action.supporter.email,
                first_name=action.supporter.first_name,
                language=action.language or campaign.default_language,
                campaign_title=localize(campaign, action.language).title,
                organization_name=organization.name if organization else None,
                pages_url=self.settings.pages_url,
                expires_at=expires_at,
            ),
            campaign,
            link.org_id,
            ordered=False,
        )
        return Recorded(_held_action(doc), pending=True)

    async def confirm_action(self, token: str) -> Confirmed:
        """Record a held action from its e-mailed link's token: exactly once, however often it is used.

        404 for a token never issued, 410 once expired, 409 `already-confirmed` after the first use;
        409 too when the campaign stopped taking actions meanwhile (nothing is recorded then)."""
        digest = token_digest(token)
        held = await self.repo.pending_by_digest(digest)
        if held is None:
            raise NotFound("no action awaits this confirmation link")
        if held["status"] != "pending":
            raise AlreadyConfirmed(
                "this action was already confirmed",
                campaign_id=str(held["campaign_id"]),
                link_ref=held["link"],
            )
        if held["expires_at"] <= utcnow():
            raise Gone("this confirmation link has expired; take the action again to get a new one")
        link, campaign = await self._action_link(held["link"])
        kind = ActionKind(held["kind"])
        await self._check_taking(link, campaign, kind)
        action = ActionInput(
            kind=kind,
            supporter=SupporterInput(**held["supporter"]),
            consents={ConsentPurpose(p): v for p, v in held["consents"].items()},
            details=held.get("details") or {},
            story=held.get("story"),
            language=held.get("language"),
            targets=tuple(Target.of(t) for t in held.get("targets") or []),
        )
        now = utcnow()

        async def work(session: Session) -> Confirmed:
            closed = await self.repo.close_pending(
                held["_id"],
                {"confirmed_at": now, "forget_at": now + timedelta(days=CONFIRMED_RECORD_DAYS)},
                session,
            )
            if not closed:
                raise AlreadyConfirmed(
                    "this action was already confirmed", campaign_id=str(campaign.id), link_ref=link.ref
                )
            recorded = await self._record(
                session,
                campaign,
                link,
                action,
                look_up=True,
                supporter_id=held["supporter_ref"],
                page_digest=held["page_digest"],
            )
            key = self.keys.address_key(link.org_id, action.supporter.email)
            await self.repo.confirm_address(key, link.org_id, now, session)
            return Confirmed(campaign.id, link.ref, recorded.action, recorded.already_recorded)

        for attempt in range(ATTEMPTS):
            try:
                return await in_transaction(self.client, work)
            except DuplicateKeyError:
                # The same person's other held action was confirmed at this moment and created the
                # supporter: nothing was written here; the next attempt finds them.
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def erase_expired_pending(self) -> int:
        """The worker's sweep: erase held actions never confirmed in time (and old confirmation records)."""
        return await self.repo.erase_expired_pending(utcnow())


def _held_action(doc: Document) -> ActionRecord:
    """A held action as the intake answers it: its id is the pending record's, nothing is counted."""
    created: datetime = doc["created_at"]
    details: dict[str, Any] = doc.get("details") or {}
    return ActionRecord(
        id=doc["_id"],
        campaign_id=doc["campaign_id"],
        kind=doc["kind"],
        supporter_id=doc["supporter_ref"],
        org_id=doc["org_id"],
        link=doc["link"],
        details=details,
        created_at=created,
        language=doc.get("language"),
    )
