"""Sends mail to decision-makers (letters, letter digests, petition deliveries) over SMTP and keeps it as sent.

Items are queued by the consumer (one per letter or delivery and target, under a unique key, so a
redelivered event queues nothing twice), claimed by lease in batches like e-mail notices and webhook
messages (decision 0009) and sent over one SMTP connection. The outcome of a mail, the record kept as sent
and the `notifications.letter.*` / `notifications.petition.*` events commit in one transaction conditioned on
still holding the lease, so an item sent and recorded is never claimed again, by this replica or another,
before or after a restart. A replica that dies between the SMTP server's acceptance and that commit leaves
a lease that expires and the mail is sent again with the same Message-ID (at-least-once at that instant).
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from common.contracts import notifications as ev
from common.events import utcnow
from common.mongo import Document, Session, in_transaction
from common.outbox import Outbox
from notifications.config import Settings
from notifications.domain.letters import (
    MailKind,
    compose_digest,
    compose_letter,
    compose_petition,
    kept_as_sent,
)
from notifications.mailer import send_over_one_connection
from notifications.notices import new_id
from notifications.repository import CAMPAIGNS, ORGANIZATIONS, OUTGOING, Repository
from notifications.wakeup import Wakeup

log = logging.getLogger(__name__)

QUEUED: list[dict[str, Any]] = [{"$match": {"operationType": "insert"}}, {"$project": {"_id": 1}}]


def failure_reason(exc: BaseException) -> str:
    """The reason reported for a failed attempt, never naming a recipient."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPResponseException):
        return "smtp_refused"
    if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
        return "smtp_unavailable"
    if isinstance(exc, ValueError | TypeError | LookupError):
        return "invalid_address"
    return "other"


MailEvent = ev.LetterSent | ev.LetterFailed | ev.PetitionSent | ev.PetitionFailed


def _events(
    units: list[Document], *, sent_at: datetime | None, reason: str = "", final: bool = False
) -> list[MailEvent]:
    out: list[MailEvent] = []
    for unit in units:
        common = {"campaign_id": unit["campaign_id"], "target_id": unit["target"]["target_id"]}
        if unit["kind"] == MailKind.PETITION:
            if sent_at is not None:
                out.append(ev.PetitionSent(delivery_id=unit["item_id"], sent_at=sent_at, **common))
            else:
                out.append(
                    ev.PetitionFailed(delivery_id=unit["item_id"], reason=reason, final=final, **common)
                )
        elif sent_at is not None:
            out.append(ev.LetterSent(letter_id=unit["item_id"], sent_at=sent_at, **common))
        else:
            out.append(ev.LetterFailed(letter_id=unit["item_id"], reason=reason, final=final, **common))
    return out


async def emit(outbox: Outbox, session: Session, events: list[MailEvent]) -> None:
    for payload in events:
        campaign = str(payload.campaign_id)
        await outbox.add(session, payload, key=campaign, subject=f"campaigns/{campaign}", ordered=False)


class DecisionMakerMailer:
    def __init__(
        self,
        *,
        repo: Repository,
        outbox: Outbox,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.outbox = outbox
        self.settings = settings
        self.clock = clock
        self.owner = f"outgoing-{uuid.uuid4().hex[:12]}"
        self.wakeup = Wakeup(db=repo.db, collection=OUTGOING, pipeline=QUEUED)
        # A batch is sent one mail after another: the lease must outlast the slowest batch, or another
        # replica could claim (and send again) what this one is still sending.
        self.lease = timedelta(seconds=60 + settings.letter_batch_size * settings.smtp_timeout_seconds)

    def wake(self, cause: str = "local") -> None:
        self.wakeup.signal(cause)

    async def run(self) -> None:
        poll = self.settings.delivery_poll_seconds
        await self.wakeup.run_passes(self.send_due, poll=poll, what="sending mail to decision-makers")

    async def send_due(self) -> float:
        """Send one batch of due mail; the seconds until more may be due."""
        now = self.clock()
        batch = await self.repo.claim_due(
            OUTGOING,
            now=now,
            lease_until=now + self.lease,
            owner=self.owner,
            limit=self.settings.letter_batch_size,
        )
        if batch:
            await self.send_batch(batch)
            return 0.0
        return await self.repo.seconds_until_due(OUTGOING, now, poll=self.settings.delivery_poll_seconds)

    # ---- composing -----------------------------------------------------------------------------------
    async def _sender_name(self, unit: Document) -> str:
        org_id = unit.get("organization_id")
        org = await self.repo.find_one(ORGANIZATIONS, {"_id": org_id}) if org_id else None
        return str((org or {}).get("name") or "")

    async def _compose(self, units: list[Document]) -> EmailMessage:
        platform = self.settings.platform_sender
        now = self.clock()
        first = units[0]
        if first["kind"] == MailKind.DIGEST:
            return compose_digest(units, platform, now)
        if first["kind"] == MailKind.PETITION:
            attachments = [
                (a["filename"], a["content_type"], base64.b64decode(a["content_base64"]))
                for a in first.get("attachments", [])
            ]
            return compose_petition(first, attachments, await self._sender_name(first), platform, now)
        return compose_letter(first, platform, now)

    async def send_batch(self, docs: list[Document]) -> None:
        groups: dict[Any, list[Document]] = {}
        for doc in docs:
            key = ("digest", doc["digest_key"]) if doc["kind"] == MailKind.DIGEST else ("one", doc["_id"])
            groups.setdefault(key, []).append(doc)
        composed: list[tuple[Document, EmailMessage]] = []
        for units in groups.values():
            mail = {"_id": units[0]["_id"], "units": units}
            try:
                composed.append((mail, await self._compose(units)))
            except Exception as exc:
                await self._failed(mail, exc)

        async def sent(mail: Document) -> None:
            message = next(m for d, m in composed if d is mail)
            await self._sent(mail["units"], message)

        async def hand_back(ids: list[Any]) -> None:
            units = [u["_id"] for d, _ in composed if d["_id"] in ids for u in d["units"]]
            await self.repo.release(units, self.owner, self.clock(), collection=OUTGOING)

        await send_over_one_connection(
            self.settings, composed, sent=sent, failed=self._failed, hand_back=hand_back
        )

    # ---- outcomes -------------------------------------------------------------------------------------
    async def _sent(self, units: list[Document], message: EmailMessage) -> None:
        now = self.clock()
        headers, text, attachments = kept_as_sent(message)
        first = units[0]
        campaign = await self.repo.find_one(CAMPAIGNS, {"_id": first["campaign_id"]}) or {}
        archived_at = campaign.get("archived_at")
        record: Document = {
            "_id": new_id(),
            "kind": first["kind"],
            "campaign_id": first["campaign_id"],
            "organization_id": first["organization_id"],
            "target": first["target"],
            "item_ids": [u["item_id"] for u in units],
            "supporter_ids": sorted({u["supporter_id"] for u in units if u.get("supporter_id")}),
            "headers": headers,
            "body": text,
            "attachments": attachments,
            "sent_at": now,
            "expires_at": None
            if archived_at is None
            else archived_at + timedelta(days=self.settings.sent_retention_days),
        }

        async def work(session: Session) -> None:
            ids = [u["_id"] for u in units]
            changed = await self.repo.finish_outgoing(
                ids,
                self.owner,
                # What was sent is kept once, in sent_messages (with its retention); the queue keeps the key.
                {
                    "status": "sent",
                    "sent_at": now,
                    "attachments": [],
                    "body": "",
                    "from_name": "",
                    "reply_to": None,
                },
                session,
            )
            if changed == 0:
                return  # the lease was lost: whoever holds it now records the outcome
            await self.repo.insert_sent(record, session)
            await emit(self.outbox, session, _events(units, sent_at=now))

        await in_transaction(self.repo.db.client, work)

    async def _failed(self, mail: Document, exc: BaseException) -> None:
        units: list[Document] = mail["units"]
        s = self.settings
        attempts = max(int(u.get("attempts", 0)) for u in units) + 1
        final = attempts >= s.letter_max_attempts
        reason = failure_reason(exc)
        log.warning(
            "mail to a decision-maker (%s %s): attempt %d failed (%s)%s",
            units[0]["kind"],
            units[0]["item_id"],
            attempts,
            type(exc).__name__,
            ", for good" if final else "",
        )
        delay = s.letter_retry_seconds * 2 ** (attempts - 1)
        changes = {
            "status": "failed" if final else "pending",
            "next_attempt_at": self.clock() + timedelta(seconds=delay),
            "last_error": reason,
        }

        async def work(session: Session) -> None:
            changed = await self.repo.finish_outgoing([u["_id"] for u in units], self.owner, changes, session)
            if changed:
                await emit(self.outbox, session, _events(units, sent_at=None, reason=reason, final=final))

        await in_transaction(self.repo.db.client, work)
