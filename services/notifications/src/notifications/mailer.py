"""Sends queued e-mail notices over SMTP (aiosmtplib): woken when mail is queued, in batches over one
connection, with retries; replicas share the queue by lease.

Every failure to compose or to send an e-mail counts as an attempt and backs off (doubling); after
`mail_max_attempts` the e-mail is `failed` for good (stored with its last error, and logged at error
level), never picked again.

An e-mail with a link (e-mail verification) is stored with a placeholder for the link's token and the
link's id; the token is derived from the id only here, when the e-mail is composed to be sent, so it
exists in the sent mail and nowhere in MongoDB (docs/decisions/0010).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any

import aiosmtplib

from common.events import utcnow
from common.links import derive_link_token
from common.mongo import Document
from notifications.config import Settings
from notifications.domain.notices import LINK_TOKEN_PLACEHOLDER, one_line
from notifications.repository import EMAILS, Repository
from notifications.wakeup import Wakeup

log = logging.getLogger(__name__)

QUEUED_EMAILS: list[dict[str, Any]] = [{"$match": {"operationType": "insert"}}, {"$project": {"_id": 1}}]


def mailbox(value: str) -> str:
    """An address header value (`Name <user@host>` or `user@host`) with its display name made safe."""
    name, address = parseaddr(one_line(value))
    # Address refuses what is not one address (an empty or malformed one raises: a failed attempt).
    return str(Address(display_name=one_line(name), addr_spec=address))


class LinkSecretMissing(RuntimeError):
    """An e-mail carries a link whose token needs NOTIFICATIONS_LINK_SIGNING_SECRET, which is not set."""


def with_link_token(doc: Document, link_secret: str | None) -> tuple[str, str]:
    """The text and HTML of a queued e-mail, its links' tokens (derived now, never stored) in place.

    An e-mail has one `link` (its token stands for LINK_TOKEN_PLACEHOLDER) or several `links`, each
    with its own placeholder."""
    text, html = str(doc["text"]), str(doc["html"])
    links = [{**doc["link"], "placeholder": LINK_TOKEN_PLACEHOLDER}] if doc.get("link") else []
    links += list(doc.get("links") or ())
    if not links:
        return text, html
    if not link_secret:
        raise LinkSecretMissing("NOTIFICATIONS_LINK_SIGNING_SECRET is not set: the link cannot be composed")
    for link in links:
        token = derive_link_token(link_secret, link["purpose"], link["id"])
        text, html = text.replace(link["placeholder"], token), html.replace(link["placeholder"], token)
    return text, html


def compose(doc: Document, sender: str, link_secret: str | None = None) -> EmailMessage:
    """The e-mail of a queued notice; every header value is one line (a name cannot break the header).

    An e-mail with a `link` gets the link's token derived from the link's id under `link_secret`."""
    text, html = with_link_token(doc, link_secret)
    message = EmailMessage()
    message["From"] = mailbox(sender)
    message["To"] = mailbox(doc["to"])
    message["Subject"] = one_line(doc["subject"])
    message["Message-ID"] = make_msgid(idstring=str(doc["_id"]), domain="coalition-platform.dev")
    message["X-Notice-Category"] = one_line(doc["category"])
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in doc.get("attachments") or []:
        maintype, _, subtype = str(attachment["content_type"]).partition("/")
        message.add_attachment(
            bytes(attachment["content"]), maintype=maintype, subtype=subtype, filename=attachment["filename"]
        )
    return message


async def send_over_one_connection(
    s: Settings,
    composed: list[tuple[Document, EmailMessage]],
    *,
    sent: Callable[[Document], Awaitable[None]],
    failed: Callable[[Document, BaseException], Awaitable[None]],
    hand_back: Callable[[list[Any]], Awaitable[None]],
) -> None:
    """Send composed messages one after another over one SMTP connection (login/STARTTLS once).

    Each outcome is reported (`sent`, or `failed` with the exception); a refusal of one message resets
    the transaction and the batch goes on; no connection fails them all. Cancelled (shutting down), the
    items not sent yet are handed back (`hand_back` with their ids) rather than kept leased."""
    if not composed:
        return
    smtp = aiosmtplib.SMTP(
        hostname=s.smtp_host,
        port=s.smtp_port,
        username=s.smtp_username,
        password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        start_tls=s.smtp_starttls,
        timeout=s.smtp_timeout_seconds,
    )
    try:
        await smtp.connect()
    except Exception as exc:
        for doc, _ in composed:
            await failed(doc, exc)
        return
    unsent = [doc["_id"] for doc, _ in composed]
    try:
        for doc, message in composed:
            unsent.remove(doc["_id"])
            try:
                await smtp.send_message(message)
            except Exception as exc:
                await failed(doc, exc)
                if isinstance(exc, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused):
                    with contextlib.suppress(Exception):
                        await smtp.rset()  # the server refused this one; the connection goes on
            else:
                await sent(doc)
    except asyncio.CancelledError:
        await asyncio.shield(hand_back(unsent))
        raise
    finally:
        with contextlib.suppress(Exception):
            await smtp.quit()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class Mailer:
    def __init__(self, *, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.owner = f"mailer-{uuid.uuid4().hex[:12]}"
        self.wakeup = Wakeup(db=repo.db, collection=EMAILS, pipeline=QUEUED_EMAILS)
        # A batch is sent one e-mail after another; its lease must outlast the slowest batch.
        self.lease = timedelta(seconds=60 + settings.mail_batch_size * settings.smtp_timeout_seconds)

    def wake(self, cause: str = "local") -> None:
        """E-mail was queued in this process (and committed): send it now."""
        self.wakeup.signal(cause)

    async def run(self) -> None:
        poll = self.settings.delivery_poll_seconds
        await self.wakeup.run_passes(self.send_due, poll=poll, what="sending e-mails")

    async def send_due(self) -> float:
        """Send one batch of due e-mails; the seconds until more may be due."""
        now = utcnow()
        batch = await self.repo.claim_due(
            EMAILS,
            now=now,
            lease_until=now + self.lease,
            owner=self.owner,
            limit=self.settings.mail_batch_size,
        )
        if batch:
            await self.send_batch(batch)
            return 0.0
        return await self.repo.seconds_until_due(EMAILS, now, poll=self.settings.delivery_poll_seconds)

    async def send_batch(self, docs: list[Document]) -> None:
        """Send `docs` over one SMTP connection, recording each one's outcome."""
        s = self.settings
        composed: list[tuple[Document, EmailMessage]] = []
        for doc in docs:
            try:
                composed.append((doc, compose(doc, s.mail_from, s.link_secret)))
            except Exception as exc:
                await self._failed(doc, exc)

        async def sent(doc: Document) -> None:
            await self.repo.finish_email(doc["_id"], self.owner, {"status": "sent", "sent_at": utcnow()})

        async def hand_back(ids: list[Any]) -> None:
            await self.repo.release(ids, self.owner, utcnow(), collection=EMAILS)

        await send_over_one_connection(s, composed, sent=sent, failed=self._failed, hand_back=hand_back)

    async def _failed(self, doc: Document, exc: BaseException) -> None:
        s = self.settings
        attempts = int(doc.get("attempts", 0)) + 1
        done = attempts >= s.mail_max_attempts
        # The address is personal data: log the e-mail's id, not its recipient.
        if done:
            log.error(
                "e-mail %s failed for good after %d attempts (status failed): %s",
                doc["_id"],
                attempts,
                type(exc).__name__,
            )
        else:
            log.warning("e-mail %s: attempt %d failed: %s", doc["_id"], attempts, type(exc).__name__)
        delay = s.mail_retry_seconds * 2 ** (attempts - 1)
        await self.repo.finish_email(
            doc["_id"],
            self.owner,
            {
                "status": "failed" if done else "pending",
                "next_attempt_at": utcnow() + timedelta(seconds=delay),
                "last_error": _describe(exc),
            },
        )
