"""Work orders of the campaigns service: letters and petitions to queue for decision-makers, meeting
schedules to mail to attendees, erasure of a supporter's queued letters, and the retention of what was sent.

Everything here runs in the consumer's transaction (with its inbox record), so an event redelivered after a
restart changes nothing twice; the unique key of a queued item (letter or delivery, target) makes sure of it
even if the inbox were bypassed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from common.contracts import campaigns as camp
from common.events import CloudEvent, EventPayload, utcnow
from common.mongo import Document, Session
from common.outbox import Outbox
from notifications.config import Settings
from notifications.domain.letters import (
    ERASED,
    MailKind,
    Meeting,
    language,
    meeting_ics,
    web_link,
)
from notifications.domain.notices import LINK_TOKEN_PLACEHOLDER
from notifications.notices import NoticeService, new_id
from notifications.outgoing import _events, emit
from notifications.repository import CAMPAIGNS, ERASED_SUPPORTERS, Repository

WORK_ORDERS = (camp.LetterDispatchRequested, camp.PetitionDeliveryRequested, camp.MeetingScheduled)
MEETING_CATEGORY = "meeting"  # mail to an attendee (not a user): no preferences, not in a feed


# The purpose of an attendee's report-back link (common.links.MEETING_REPORT, defined with campaigns).
MEETING_REPORT = "meeting-report"


def _zone(name: str | None) -> tzinfo:
    """The meeting's time zone (IANA name); UTC when absent or unknown."""
    if name:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(name)
    return UTC


def _when(value: datetime, zone: tzinfo = UTC) -> str:
    local = value.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


class OutgoingIntake:
    def __init__(
        self,
        *,
        repo: Repository,
        notices: NoticeService,
        outbox: Callable[[], Outbox],
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.notices = notices
        self.outbox = outbox
        self.settings = settings
        self.clock = clock

    async def take(self, payload: EventPayload, event: CloudEvent, session: Session) -> None:
        if isinstance(payload, camp.LetterDispatchRequested):
            await self.letter(payload, session)
        elif isinstance(payload, camp.PetitionDeliveryRequested):
            await self.petition(payload, session)
        elif isinstance(payload, camp.MeetingScheduled):
            await self.meeting(payload, event, session)

    # ---- letters and petitions ---------------------------------------------------------------------
    def _unit(self, kind: MailKind, item_id: Any, campaign_id: Any, org_id: Any, target: Any) -> Document:
        now = self.clock()
        return {
            "_id": new_id(),
            "kind": kind.value,
            "item_id": item_id,
            "campaign_id": campaign_id,
            "organization_id": org_id,
            "target": target.model_dump(),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "lease_until": None,
            "lease_owner": None,
            "created_at": now,
        }

    async def letter(self, p: camp.LetterDispatchRequested, session: Session) -> None:
        erased = await self.repo.find_one(ERASED_SUPPORTERS, {"_id": p.supporter_id}, session)
        kind = MailKind.DIGEST if p.delivery == "digest" else MailKind.LETTER
        units = []
        for target in p.targets:
            unit = self._unit(kind, p.letter_id, p.campaign_id, p.organization_id, target)
            unit.update(
                {
                    "supporter_id": p.supporter_id,
                    "from_name": p.from_name,
                    "reply_to": p.reply_to,
                    "subject": p.subject,
                    "body": p.body,
                    "language": p.language,
                }
            )
            if erased is not None:
                unit.update({"status": "failed", "last_error": ERASED, "from_name": "", "reply_to": None})
                unit["body"] = ""
            elif kind is MailKind.DIGEST:
                # A target's digest (per campaign and organization) opens with its first queued letter and
                # goes out `letter_digest_seconds` later with every letter queued meanwhile.
                key = f"{target.target_id}:{p.campaign_id}:{p.organization_id}"
                due = await self.repo.open_digest_due(key, session)
                unit["digest_key"] = key
                unit["next_attempt_at"] = due or unit["created_at"] + timedelta(
                    seconds=self.settings.letter_digest_seconds
                )
            units.append(unit)
        await self.repo.queue_outgoing(units, session)
        if erased is not None:
            await emit(self.outbox(), session, _events(units, sent_at=None, reason=ERASED, final=True))

    async def petition(self, p: camp.PetitionDeliveryRequested, session: Session) -> None:
        unit = self._unit(
            MailKind.PETITION,
            p.delivery_id,
            p.campaign_id,
            p.organization_id or p.owner_organization_id,
            p.target,
        )
        unit.update(
            {
                "subject": p.subject,
                "body": p.body,
                "attachments": [a.model_dump() for a in p.attachments],
            }
        )
        await self.repo.queue_outgoing([unit], session)

    async def supporter_erased(self, p: camp.SupporterErased, session: Session) -> None:
        """Never send the supporter's queued letters: failed (supporter_erased), their text forgotten."""
        now = self.clock()
        await self.repo.upsert(ERASED_SUPPORTERS, {"_id": p.supporter_id}, {"erased_at": now}, session)
        failed = await self.repo.fail_queued_of_supporter(p.supporter_id, now, session)
        await self.repo.redact_sent_of_supporter(p.supporter_id, session)
        if failed:
            await emit(self.outbox(), session, _events(failed, sent_at=None, reason=ERASED, final=True))

    async def campaign_archived(self, p: camp.CampaignArchived, session: Session) -> None:
        """What was sent for the campaign is kept `sent_retention_days` after its archival."""
        now = utcnow()
        await self.repo.upsert(CAMPAIGNS, {"_id": p.campaign_id}, {"archived_at": now}, session)
        expires = now + timedelta(days=self.settings.sent_retention_days)
        await self.repo.expire_sent_of_campaign(p.campaign_id, expires, session)

    # ---- meeting schedules -------------------------------------------------------------------------
    async def meeting(self, p: camp.MeetingScheduled, event: CloudEvent, session: Session) -> None:
        campaign = await self.repo.find_one(CAMPAIGNS, {"_id": p.campaign_id}, session) or {}
        targets = ", ".join(
            t.name + (f" ({t.title})" if t.title else "") + (f", {t.office}" if t.office else "")
            for t in p.targets
        )
        link = web_link(p.link)
        meeting = Meeting(
            meeting_id=p.meeting_id,
            title=p.title,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            place=p.place,
            link=link,
            description=" ".join(
                part for part in (f"With {targets}." if targets else p.title, p.agenda or "") if part
            ),
        )
        platform_name, platform_address = self.settings.platform_sender
        ics = meeting_ics(meeting, (platform_name, platform_address), self.clock())
        zone = _zone(p.time_zone)
        for attendee in p.attendees:
            report = None
            if attendee.attendee_id is not None and web_link(p.report_url_base):
                report = (MEETING_REPORT, attendee.attendee_id)
            context = {
                "name": attendee.name,
                "title": p.title,
                "campaign_title": campaign.get("title") or p.title,
                "starts_at": _when(p.starts_at, zone),
                "ends_at": _when(p.ends_at, zone) if p.ends_at else None,
                "place": p.place,
                "link": link,
                "targets": targets,
                "agenda": p.agenda,
                "report_link": f"{p.report_url_base}{LINK_TOKEN_PLACEHOLDER}" if report else None,
            }
            await self.notices.mail_person(
                attendee.email,
                f"meeting_scheduled.{language(attendee.language)}",
                context,
                category=MEETING_CATEGORY,
                event_id=event.id,
                attachments=[{"filename": "invitation.ics", "content_type": "text/calendar", "content": ics}],
                link=report,
                session=session,
            )
