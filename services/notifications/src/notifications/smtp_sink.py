"""A local SMTP sink for development and tests: accepts every message and keeps it as an .eml file.

Run it with `python -m notifications.smtp_sink --host 127.0.0.1 --port 1025 --maildir <dir>`; each
received message is written to `<dir>/<time>-<n>.eml` and one line is logged per message. Tests use
`SmtpSink` in-process on a free port and read `received` (or the files).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import logging
import signal
import sys
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from common.telemetry import configure_logging

log = logging.getLogger("notifications.smtp_sink")


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    path: Path | None
    connection: int = 0  # which SMTP connection (session) brought it, counted from 1

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def to(self) -> str:
        return str(self.message["To"] or "")

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return "" if body is None else str(body.get_content())


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.connections: weakref.WeakKeyDictionary[Session, int] = weakref.WeakKeyDictionary()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        # aiosmtpd makes one Session per client connection.
        if session not in self.connections:
            self.sink.connections += 1
            self.connections[session] = self.sink.connections
        connection = self.connections[session]
        self.sink.keep(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], data, connection)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on `host:port` that keeps what it receives (in memory, and in `maildir` if given)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, maildir: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.maildir = maildir
        self.received: list[ReceivedMail] = []
        self._controller: Controller | None = None
        self._counter = 0
        self.connections = 0  # SMTP connections that delivered at least one message

    def keep(self, mail_from: str, rcpt_tos: list[str], data: bytes, connection: int = 0) -> None:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        path = None
        self._counter += 1
        if self.maildir is not None:
            path = self.maildir / f"{time.strftime('%Y%m%dT%H%M%S')}-{self._counter:05d}.eml"
            path.write_bytes(data)
        self.received.append(ReceivedMail(mail_from, rcpt_tos, message, path, connection))
        log.info(
            "smtp sink: message %d from %s to %d recipient(s), subject %r%s",
            self._counter,
            mail_from,
            len(rcpt_tos),
            str(message["Subject"] or ""),
            f", kept in {path}" if path else "",
        )

    def start(self) -> None:
        if self.maildir is not None:
            self.maildir.mkdir(parents=True, exist_ok=True)
        port = self.port or _free_port(self.host)
        self._controller = Controller(_Handler(self), hostname=self.host, port=port, ready_timeout=10)
        self._controller.start()
        self.port = port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def __aenter__(self) -> SmtpSink:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *_: Any) -> None:
        await asyncio.to_thread(self.stop)

    def to(self, address: str) -> list[ReceivedMail]:
        wanted = address.lower()
        return [m for m in list(self.received) if wanted in (r.lower() for r in m.rcpt_tos)]


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="notifications.smtp_sink", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, default=Path(".run/mail"))
    args = parser.parse_args(argv)
    configure_logging("smtp-sink", "INFO")  # JSON lines, as every process of the stack writes
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    sink = SmtpSink(host=args.host, port=args.port, maildir=args.maildir)
    sink.start()
    log.info("smtp sink: listening on %s:%d, keeping mail in %s", args.host, sink.port, args.maildir)

    stop = False

    def on_signal(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with contextlib.suppress(KeyboardInterrupt):
        while not stop:
            time.sleep(0.2)
    sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
