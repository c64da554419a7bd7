"""A consumer whose handler keeps failing dead-letters the message only while MongoDB answers: during an
outage the message is handed back (consumed again later), never parked as poison."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import ServerSelectionTimeoutError

from common.embedded import free_port
from common.events import EventPayload, make_event
from common.inbox import DatabaseUnavailable, EventConsumer, Handler, IncomingMessage


class Pinged(EventPayload):
    event_type = "tests.thing.pinged"
    topic = "tests.things.v1"
    name: str


class RecordingSink:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, str] | None]] = []

    async def publish(
        self,
        message: Any,
        topic: str = "",
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.published.append((topic, headers))


async def never_applies(*_: Any) -> None:
    raise AssertionError("unreachable: the transaction cannot start without MongoDB")


class OutageConsumer(EventConsumer):
    """Its transaction fails at once as one does when MongoDB is gone (PyMongo's own transaction retries
    would take two minutes per attempt to reach the same point)."""

    async def _apply_once(self, *_: Any) -> str:
        raise ServerSelectionTimeoutError("127.0.0.1: connection refused")


async def test_a_failing_handler_during_an_outage_is_handed_back_not_dead_lettered() -> None:
    # Nothing listens on this port: MongoDB is down for this consumer.
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        serverSelectionTimeoutMS=200,
        timeoutMS=300,
    )
    sink = RecordingSink()
    consumer = OutageConsumer(
        name="tests-outage",
        client=client,
        db=client["tests"],
        sink=sink,
        handlers={Pinged.event_type: Handler(Pinged, never_applies)},
        max_attempts=2,
        retry_backoff=0.01,
    )
    event = make_event(Pinged(name="a"), source="urn:test:tests", subject="things/1")
    message = IncomingMessage(
        body=event.to_bytes(), topic=Pinged.topic, partition=0, offset=7, key=b"1", headers={}
    )
    try:
        with pytest.raises(DatabaseUnavailable):
            await consumer.consume(message)
    finally:
        await client.close()
    assert sink.published == []
