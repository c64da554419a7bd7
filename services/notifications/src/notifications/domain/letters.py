"""Mail to decision-makers (letters, digests, petition deliveries) and meeting invitations: pure rules.

A letter is sent as the supporter wrote it: their name shows as the sender ("Ana Lima via Coalition
Platform"), the address is the platform's (so SPF/DKIM hold), and their own address is the Reply-To only
when the event carries it (they consented to replies). Message-IDs are derived from the letter and target,
so a resend after a crash carries the same Message-ID and the recipient's mail system can drop it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import StrEnum
from typing import Any
from uuid import UUID

from notifications.domain.notices import one_line

MESSAGE_ID_DOMAIN = "coalition-platform.dev"
SUPPORTED_LANGUAGES = ("en", "fr", "es", "pt", "de")
ERASED = "supporter_erased"


class MailKind(StrEnum):
    LETTER = "letter"  # one mail per letter and target
    DIGEST = "digest"  # a digest letter, sent with the others of its target, campaign and organization
    PETITION = "petition"


def address(name: str, email: str) -> Address:
    """A mailbox with its display name kept to one line; refuses what is not one address (ValueError)."""
    display = one_line(name)
    given = one_line(email)
    parsed = parseaddr(given)[1]
    # One bare address: parseaddr would quietly keep the first of a list, or a part of a malformed one.
    if not parsed or "@" not in parsed or parsed != given:
        raise ValueError("not one e-mail address")
    return Address(display_name=display, addr_spec=parsed)


def message_id(kind: str, item_id: Any, target_id: Any) -> str:
    return f"<{kind}.{item_id}.{target_id}@{MESSAGE_ID_DOMAIN}>"


def language(value: str | None) -> str:
    """The supported language a mail is written in ("pt-BR" -> "pt"; English otherwise)."""
    short = (value or "en").split("-")[0].split("_")[0].lower()
    return short if short in SUPPORTED_LANGUAGES else "en"


def _base(sender: Address, to: Address, subject: str, msg_id: str, when: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = one_line(subject, limit=500)
    message["Date"] = format_datetime(when.astimezone(UTC))
    message["Message-ID"] = msg_id
    return message


def compose_letter(unit: dict[str, Any], platform: tuple[str, str], when: datetime) -> EmailMessage:
    """One letter to one target, From "<supporter> via <platform>" <platform address>."""
    platform_name, platform_address = platform
    target = unit["target"]
    sender = address(f"{unit['from_name']} via {platform_name}", platform_address)
    message = _base(
        sender,
        address(target["name"], target["email"]),
        unit["subject"],
        message_id("letter", unit["item_id"], target["target_id"]),
        when,
    )
    if unit.get("reply_to"):
        message["Reply-To"] = address(unit["from_name"], unit["reply_to"])
    message.set_content(unit["body"])
    message["Content-Language"] = language(unit.get("language"))  # after set_content, which clears Content-*
    return message


def compose_digest(units: list[dict[str, Any]], platform: tuple[str, str], when: datetime) -> EmailMessage:
    """The letters queued for one target (of one campaign and organization) in one mail, each as written.

    There is no Reply-To on a digest (it holds several supporters); a letter whose supporter consented to
    replies names their address in its own section."""
    platform_name, platform_address = platform
    first = units[0]
    target = first["target"]
    count = len(units)
    sections = []
    for i, unit in enumerate(units, 1):
        head = f"Letter {i} of {count}, from {one_line(unit['from_name'])}"
        if unit.get("reply_to"):
            head += f" <{one_line(unit['reply_to'])}>"
        sections.append(
            f"{head}\nSubject: {one_line(unit['subject'], limit=500)}\n\n{unit['body'].strip()}\n"
        )
    intro = (
        f"{count} letter{'s' if count != 1 else ''} from supporters, sent through {platform_name}. "
        "Each is reproduced as its author wrote it.\n\n"
    )
    subject = f"{count} letter{'s' if count != 1 else ''} from supporters: {first['subject']}"
    message = _base(
        address(platform_name, platform_address),
        address(target["name"], target["email"]),
        subject,
        message_id("digest", first["_id"], target["target_id"]),
        when,
    )
    message.set_content(intro + "\n-----\n\n".join(sections))
    return message


def compose_petition(
    unit: dict[str, Any],
    attachments: list[tuple[str, str, bytes]],
    sender_name: str,
    platform: tuple[str, str],
    when: datetime,
) -> EmailMessage:
    """A petition delivered to its target, with its attachments (PDF, CSV)."""
    platform_name, platform_address = platform
    target = unit["target"]
    name = f"{sender_name} via {platform_name}" if sender_name else platform_name
    message = _base(
        address(name, platform_address),
        address(target["name"], target["email"]),
        unit["subject"],
        message_id("petition", unit["item_id"], target["target_id"]),
        when,
    )
    message.set_content(unit["body"])
    for filename, content_type, content in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            content, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=filename
        )
    return message


def kept_as_sent(message: EmailMessage) -> tuple[dict[str, str], str, list[dict[str, Any]]]:
    """What is kept of a sent mail: its headers as rendered, its text, its attachments' names and hashes."""
    headers = {
        key: str(value) for key, value in message.items() if key.lower() != "content-transfer-encoding"
    }
    text_part = message.get_body(preferencelist=("plain",))
    text = "" if text_part is None else str(text_part.get_content())
    attachments = []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        data = content if isinstance(content, bytes) else b""
        attachments.append(
            {
                "filename": part.get_filename() or "",
                "content_type": part.get_content_type(),
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return headers, text, attachments


# ---- meeting invitations (iCalendar, RFC 5545) --------------------------------------------------------
def _ics_text(value: str) -> str:
    escaped = one_line(value, limit=1000).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return escaped


def _ics_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 section 3.1)."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 74:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


@dataclass(frozen=True)
class Meeting:
    meeting_id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime | None
    place: str | None
    link: str | None
    description: str


def meeting_ics(meeting: Meeting, organizer: tuple[str, str], now: datetime) -> bytes:
    name, mail = organizer
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Coalition Platform//Advocacy meetings//EN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:meeting-{meeting.meeting_id}@{MESSAGE_ID_DOMAIN}",
        f"DTSTAMP:{_ics_time(now)}",
        f"DTSTART:{_ics_time(meeting.starts_at)}",
    ]
    if meeting.ends_at is not None:
        lines.append(f"DTEND:{_ics_time(meeting.ends_at)}")
    lines.append(f"SUMMARY:{_ics_text(meeting.title)}")
    if meeting.place:
        lines.append(f"LOCATION:{_ics_text(meeting.place)}")
    if meeting.link:
        lines.append(f"URL:{one_line(meeting.link, limit=1000)}")
    lines.append(f"DESCRIPTION:{_ics_text(meeting.description)}")
    lines.append(f"ORGANIZER;CN={_ics_text(name)}:mailto:{mail}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()


def web_link(value: str | None) -> str | None:
    """A meeting's link only when it is an http(s) URL (it becomes a link in the HTML mail)."""
    if value and value.lower().startswith(("https://", "http://")):
        return value
    return None
