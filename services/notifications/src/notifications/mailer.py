"""Sends queued e-mail notices over SMTP (aiosmtplib), with retries; replicas share the queue by lease."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from common.events import utcnow
from common.mongo import Document
from notifications.config import Settings
from notifications.repository import Repository

log = logging.getLogger(__name__)
EMAIL_LEASE_SECONDS = 120


def compose(doc: Document, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = doc["to"]
    message["Subject"] = doc["subject"]
    message["Message-ID"] = make_msgid(idstring=str(doc["_id"]), domain="coalition-platform.dev")
    message["X-Notice-Category"] = doc["category"]
    message.set_content(doc["text"])
    message.add_alternative(doc["html"], subtype="html")
    return message


class Mailer:
    def __init__(self, *, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.owner = f"mailer-{uuid.uuid4().hex[:12]}"

    async def run(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("sending e-mails failed; will retry")
                sent = 0
            if sent == 0:
                await asyncio.sleep(self.settings.delivery_poll_seconds)

    async def send_due(self) -> int:
        count = 0
        while True:
            now = utcnow()
            doc = await self.repo.claim_email(
                now=now, lease_until=now + timedelta(seconds=EMAIL_LEASE_SECONDS), owner=self.owner
            )
            if doc is None:
                return count
            count += 1
            await self.send(doc)

    async def send(self, doc: Document) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                compose(doc, s.mail_from),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            attempts = int(doc.get("attempts", 0)) + 1
            done = attempts >= s.mail_max_attempts
            # The address is personal data: log the e-mail's id, not its recipient.
            log.warning("e-mail %s: attempt %d failed: %s", doc["_id"], attempts, type(exc).__name__)
            delay = s.mail_retry_seconds * 2 ** (attempts - 1)
            await self.repo.finish_email(
                doc["_id"],
                self.owner,
                {
                    "status": "failed" if done else "pending",
                    "next_attempt_at": utcnow() + timedelta(seconds=delay),
                    "last_error": f"{type(exc).__name__}: {exc}"[:300],
                },
            )
            return
        await self.repo.finish_email(doc["_id"], self.owner, {"status": "sent", "sent_at": utcnow()})
