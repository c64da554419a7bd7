"""Idempotent event consumers: an inbox recorded with the effects, and a dead-letter topic for poison.

A consumer records `(consumer, event id)` in the same transaction as the handler's writes, so a
redelivered event is skipped. Messages that cannot be processed (not a CloudEvent, a type the topic's
contract does not know, a payload that fails validation, or a handler that keeps failing) are
published to the consumer's dead-letter topic with the error in headers, and the partition moves on.
A handler that keeps failing while MongoDB does not answer is not poison: the message is handed back
and consumed again once the database is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.errors import DuplicateKeyError

from common.contracts.topics import dead_letter_topic
from common.events import CloudEvent, EventPayload, utcnow
from common.mongo import Database, Document, Indexes, Session, in_transaction, ping
from common.outbox import EventSink

log = logging.getLogger(__name__)

INBOX = "inbox"
PING_SECONDS = 5.0
P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True)
class Handler(Generic[P]):
    """What to do with one event type: validate `data` as `model`, then apply it in a transaction."""

    model: type[P]
    apply: Callable[[P, CloudEvent, Session], Awaitable[None]]


class DatabaseUnavailable(Exception):
    """MongoDB did not answer while a handler kept failing: retry later, do not dead-letter."""


class PoisonMessage(Exception):
    """The message can never be processed; retrying is pointless."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class IncomingMessage:
    """The parts of a Kafka record a consumer needs, independent of the client library."""

    body: bytes
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: Mapping[str, str]


class Outcome:
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead-lettered"


class EventConsumer:
    """An idempotent consumer group: handlers by event type, an inbox, a dead-letter topic."""

    def __init__(
        self,
        *,
        name: str,
        client: AsyncMongoClient[Document],
        db: Database,
        sink: EventSink,
        handlers: Mapping[str, Handler[Any]],
        known_types: Iterable[str] = (),
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
    ) -> None:
        self.name = name
        self.client = client
        self.db = db
        self.sink = sink
        self.handlers = dict(handlers)
        self.known_types = set(known_types) | set(self.handlers)
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.dead_letter_topic = dead_letter_topic(name)

    async def consume(self, message: IncomingMessage) -> str:
        """Process one message; never raises for a bad message (it is dead-lettered instead)."""
        try:
            event, handler = self._decode(message)
        except PoisonMessage as poison:
            await self._dead_letter(message, poison.reason, poison.detail, attempts=0)
            return Outcome.DEAD_LETTERED
        if handler is None:
            return Outcome.IGNORED
        try:
            payload = handler.model.model_validate(event.data)
        except ValidationError as exc:
            await self._dead_letter(message, "invalid-payload", str(exc), attempts=0)
            return Outcome.DEAD_LETTERED

        last_error: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._apply_once(event, payload, handler)
            except PoisonMessage as poison:
                await self._dead_letter(message, poison.reason, poison.detail, attempts=attempt)
                return Outcome.DEAD_LETTERED
            except Exception as exc:
                last_error = exc
                log.warning("%s: attempt %d at %s failed: %r", self.name, attempt, event.id, exc)
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
        if not await self.database_answers():
            # An outage is not poison: hand the message back (consumed again) instead of parking it.
            raise DatabaseUnavailable(f"{self.name}: MongoDB does not answer") from last_error
        await self._dead_letter(
            message,
            "handler-failed",
            f"{type(last_error).__name__}: {last_error}",
            attempts=self.max_attempts,
        )
        return Outcome.DEAD_LETTERED

    async def database_answers(self, within: float = PING_SECONDS) -> bool:
        """Whether MongoDB answers a ping: a handler that keeps failing while it does is poison."""
        try:
            async with asyncio.timeout(within):
                return await ping(self.client)
        except TimeoutError:
            return False

    async def validated(self, message: IncomingMessage) -> EventPayload | None:
        """The message's payload if a handler takes it; poison is dead-lettered and gives None.

        For consumers that apply their events in batches rather than one transaction each.
        """
        decoded = await self.decoded(message)
        return None if decoded is None else decoded[1]

    async def decoded(self, message: IncomingMessage) -> tuple[CloudEvent, EventPayload] | None:
        """The message's envelope and payload if a handler takes it; poison is dead-lettered (None)."""
        try:
            event, handler = self._decode(message)
        except PoisonMessage as poison:
            await self._dead_letter(message, poison.reason, poison.detail, attempts=0)
            return None
        if handler is None:
            return None
        try:
            payload: EventPayload = handler.model.model_validate(event.data)
        except ValidationError as exc:
            await self._dead_letter(message, "invalid-payload", str(exc), attempts=0)
            return None
        return event, payload

    def _decode(self, message: IncomingMessage) -> tuple[CloudEvent, Handler[Any] | None]:
        try:
            event = CloudEvent.from_bytes(message.body)
        except ValidationError as exc:
            raise PoisonMessage("invalid-envelope", str(exc)) from exc
        if event.type not in self.known_types:
            raise PoisonMessage("unknown-type", f"{event.type!r} is not a type this consumer knows")
        return event, self.handlers.get(event.type)

    async def _apply_once(self, event: CloudEvent, payload: EventPayload, handler: Handler[Any]) -> str:
        async def work(session: Session) -> str:
            inbox_id = f"{self.name}:{event.id}"
            # Look before writing: a failed insert would abort the whole transaction.
            if await self.db[INBOX].find_one({"_id": inbox_id}, {"_id": 1}, session=session):
                return Outcome.DUPLICATE
            await self.db[INBOX].insert_one(
                {"_id": inbox_id, "consumer": self.name, "type": event.type, "received_at": utcnow()},
                session=session,
            )
            await handler.apply(payload, event, session)
            return Outcome.PROCESSED

        try:
            return await in_transaction(self.client, work)
        except DuplicateKeyError:
            # A concurrent delivery of the same event committed first.
            return Outcome.DUPLICATE

    async def dead_letter(self, message: IncomingMessage, reason: str, detail: str, *, attempts: int) -> None:
        """Park `message` in this consumer's dead-letter topic with the error (for batch consumers that
        decide themselves when a message cannot be processed)."""
        await self._dead_letter(message, reason, detail, attempts=attempts)

    async def _dead_letter(
        self, message: IncomingMessage, reason: str, detail: str, *, attempts: int
    ) -> None:
        log.error(
            "%s: dead-lettering %s[%d]@%d: %s",
            self.name,
            message.topic,
            message.partition,
            message.offset,
            reason,
        )
        headers = {k: v for k, v in message.headers.items() if not k.startswith("x-dead-letter-")}
        headers.update(
            {
                "x-dead-letter-reason": reason,
                "x-dead-letter-error": detail[:2000],
                "x-dead-letter-consumer": self.name,
                "x-dead-letter-topic": message.topic,
                "x-dead-letter-partition": str(message.partition),
                "x-dead-letter-offset": str(message.offset),
                "x-dead-letter-attempts": str(attempts),
                "x-dead-letter-at": utcnow().isoformat(),
            }
        )
        await self.sink.publish(message.body, topic=self.dead_letter_topic, key=message.key, headers=headers)


INBOX_INDEXES = (
    Indexes(
        INBOX,
        (IndexModel([("received_at", ASCENDING)], name="inbox_ttl", expireAfterSeconds=30 * 24 * 3600),),
    ),
)
