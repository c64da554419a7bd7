"""Letters that reach decision-makers: whom a letter goes to, the work order for the notifications
service, and the delivery state per letter and target that the campaign's managers read.

A letter campaign names its targets (`fixed`: directory entries chosen by the managers) or lets the
supporter's place choose them (`by_location`: the country and postal code select, at the time of
action, every target of the owner's and the coalition's directories that represents that place, of the
campaign's levels). The recorded letter keeps each target's id and version (`letter_deliveries`, queued),
and `campaigns.letter.dispatch_requested` goes out in the same transaction; the notifications service's
`notifications.letter.sent` / `.failed` move each delivery on.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from campaigns.domain.campaigns import ActionKind, Campaign, CampaignKind, CampaignStatus
from campaigns.domain.languages import localize
from campaigns.domain.supporters import ConsentPurpose
from campaigns.repository import Link
from campaigns.targets_repository import LetterDelivery, Target
from campaigns.usecases.actions import ActionInput, Actions, Recorded, SupporterInput
from campaigns.usecases.base import WRITE_SCOPE
from campaigns.usecases.lifecycle import NewCampaign
from campaigns.usecases.targets import Targets
from common.auth import Principal
from common.contracts import campaigns as ev
from common.contracts import notifications as notes
from common.errors import Conflict, Forbidden, InvalidInput
from common.events import utcnow
from common.mongo import Session

# Consent purposes that belong to one kind of campaign only.
PURPOSE_OF_KIND = {
    ConsentPurpose.REPLY_TO.value: CampaignKind.LETTER,
    ConsentPurpose.PETITION_DELIVERY.value: CampaignKind.PETITION,
}
DELIVERY_STATES = ("queued", "sent", "failed")


def full_name(first_name: str | None, last_name: str | None) -> str:
    return " ".join(p for p in (first_name, last_name) if p) or "A supporter"


class Letters(Targets, Actions):
    """Addressing, dispatching and tracking letters to decision-makers."""

    # ---- campaigns: consent texts and targets that fit the kind --------------------------------------------

    def _consent_texts(
        self, kind: CampaignKind, details: dict[str, Any], given: dict[ConsentPurpose, str], coalition: bool
    ) -> dict[str, dict[str, str]]:
        texts = super()._consent_texts(kind, details, given, coalition)
        return {p: t for p, t in texts.items() if PURPOSE_OF_KIND.get(p, kind) is kind}

    async def create_campaign(self, *, principal: Principal, new: NewCampaign) -> Campaign:
        if CampaignKind(new.kind) is CampaignKind.LETTER and isinstance(new.details, dict):
            principal.require_scope("campaigns:write")
            self._require_organizer_of(principal, new.organization_id)
            await self.check_target_ids(
                owner_org_id=new.organization_id, coalition_id=new.coalition_id, ids=_target_ids(new.details)
            )
        return await super().create_campaign(principal=principal, new=new)

    async def update_campaign(
        self, *, principal: Principal, campaign_id: UUID, changes: dict[str, Any]
    ) -> Campaign:
        details = changes.get("details")
        if isinstance(details, dict):
            standing = await self._managed(principal, campaign_id)
            campaign = standing.campaign
            if campaign.kind is CampaignKind.LETTER:
                await self.check_target_ids(
                    owner_org_id=campaign.owner_org_id,
                    coalition_id=campaign.coalition_id,
                    ids=_target_ids(details),
                )
        return await super().update_campaign(principal=principal, campaign_id=campaign_id, changes=changes)

    # ---- whom a letter goes to -----------------------------------------------------------------------------

    async def addressees(self, campaign: Campaign, supporter: SupporterInput | None) -> list[Target]:
        """The directory targets a supporter's letter goes to now (by location: from their place)."""
        if campaign.details.get("targeting") != "by_location":
            return await self.fixed_targets(campaign)
        if supporter is None or not supporter.country or not supporter.postal_code:
            raise InvalidInput(
                "this letter goes to the decision-makers of the supporter's place: give country and postal_code",
                field="supporter.postal_code",
            )
        found = await self.represented_by(campaign, supporter.country, supporter.postal_code)
        if not found:
            raise InvalidInput(
                "no decision-maker of this campaign represents this postal code",
                field="supporter.postal_code",
            )
        return found

    async def letter_recipients(
        self, *, ref: str, country: str | None, postal_code: str | None
    ) -> tuple[Campaign, list[Target], list[dict[str, Any]]]:
        """Who will receive a letter sent through this link (for the public page, before sending): the
        directory targets, and the names the campaign only shows."""
        _, campaign, _ = await self.public_link(ref)
        if campaign.kind is not CampaignKind.LETTER:
            raise Conflict("this campaign sends no letters", campaign_kind=campaign.kind.value)
        place = None
        if country or postal_code:
            place = SupporterInput(email="", first_name="", country=country, postal_code=postal_code)
        targets = await self.addressees(campaign, place)
        return campaign, targets, list(campaign.details.get("targets") or [])

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
        if action.kind is ActionKind.LETTER:
            link, campaign = await self._action_link(ref)
            if (
                campaign.kind is CampaignKind.LETTER
                and campaign.status is CampaignStatus.ACTIVE
                and link.state == "active"
            ):
                action = replace(action, targets=tuple(await self.addressees(campaign, action.supporter)))
        return await super().record_action(
            ref=ref,
            action=action,
            idempotency_key=idempotency_key,
            altcha=altcha,
            honeypot=honeypot,
            challenge=challenge,
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
        """Record the action; a letter is dispatched in the same transaction. Only a recorded letter:
        one held for confirmation (double opt-in) never comes here until it is confirmed, and then
        carries the targets chosen when it was sent (`usecases.verification` keeps them)."""
        recorded = await super()._record(
            session,
            campaign,
            link,
            action,
            look_up=look_up,
            supporter_id=supporter_id,
            page_digest=page_digest,
        )
        if action.kind is ActionKind.LETTER and action.targets and not recorded.already_recorded:
            await self._dispatch(session, campaign, link, recorded, action)
        return recorded

    async def _dispatch(
        self, session: Session, campaign: Campaign, link: Link, recorded: Recorded, action: ActionInput
    ) -> None:
        """Queue the letter for each target and order its sending, in the action's transaction."""
        letter = recorded.action
        supporter = await self.repo.get_supporter(letter.supporter_id, session)
        assert supporter is not None
        now = utcnow()
        targets: list[Target] = list(action.targets)
        # The letter in the language of the page it was written on (per-field translations, falling back
        # to the default language's subject, body and ask).
        localized = localize(campaign, action.language)
        details = localized.details
        name = full_name(supporter.get("first_name"), supporter.get("last_name"))
        place = " ".join(p for p in (supporter.get("postal_code"), supporter.get("country")) if p)
        body = action.details.get("body") or details["body_template"]
        signature = f"{name}\n{place}" if place else name
        consents = supporter.get("consents", {})
        await self.targets_repo.queue_letter(
            [
                {
                    "_id": uuid.uuid4(),
                    "campaign_id": campaign.id,
                    "letter_id": letter.id,
                    "organization_id": link.org_id,
                    "supporter_id": letter.supporter_id,
                    "target_id": t.id,
                    "target_version": t.version,
                    "target_name": t.fields.name,
                    "state": "queued",
                    "reason": None,
                    "attempts_failed": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for t in targets
            ],
            session,
        )
        await self._emit(
            session,
            ev.LetterDispatchRequested(
                **self._scope(campaign),
                letter_id=letter.id,
                organization_id=link.org_id,
                supporter_id=letter.supporter_id,
                delivery=details.get("delivery", "per_letter"),
                from_name=name,
                reply_to=supporter.get("email") if ConsentPurpose.REPLY_TO.value in consents else None,
                subject=action.details.get("subject") or details["subject"],
                body=f"{body}\n\n{details['ask']}\n\n{signature}",
                language=localized.language,
                targets=[
                    ev.DecisionMaker(
                        target_id=t.id,
                        target_version=t.version,
                        name=t.fields.name,
                        email=str(t.fields.email),
                    )
                    for t in targets
                ],
            ),
            campaign,
            link.org_id,
            ordered=False,
        )

    # ---- delivery state ------------------------------------------------------------------------------------

    async def letter_deliveries(
        self, *, principal: Principal, campaign_id: UUID, state: str | None, after: UUID | None, limit: int
    ) -> list[LetterDelivery]:
        standing = await self.standing(principal=principal, campaign_id=campaign_id, scope=WRITE_SCOPE)
        if not standing.manages:
            raise Forbidden(
                "only the campaign's managers (organizers of its owner, or of a lead of its coalition) read "
                "its letters' deliveries"
            )
        if state is not None and state not in DELIVERY_STATES:
            raise InvalidInput("unknown delivery state", field="state", known=list(DELIVERY_STATES))
        return await self.targets_repo.letter_deliveries(campaign_id, state=state, after=after, limit=limit)

    async def letter_sent(self, *, payload: notes.LetterSent, session: Session) -> None:
        await self.targets_repo.letter_sent(
            payload.letter_id, payload.target_id, _at(payload.sent_at), session
        )

    async def letter_failed(self, *, payload: notes.LetterFailed, session: Session) -> None:
        await self.targets_repo.letter_failed(
            payload.letter_id, payload.target_id, payload.reason[:200], payload.final, utcnow(), session
        )


def _target_ids(details: dict[str, Any]) -> list[UUID]:
    ids: list[UUID] = []
    for value in details.get("target_ids") or []:
        try:
            ids.append(UUID(str(value)))
        except ValueError:
            continue  # the details' own validation answers for it
    return ids


def _at(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
