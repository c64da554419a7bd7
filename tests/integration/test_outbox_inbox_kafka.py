"""The outbox, the relay, the inbox and the dead-letter topic, across real MongoDB and Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from pymongo import AsyncMongoClient

from common import mongo
from common.events import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, EventPayload, make_event
from common.inbox import INBOX_INDEXES, EventConsumer, Handler, IncomingMessage
from common.kafka import create_broker, subscribe_consumer
from common.mongo import Database, Document, Session
from common.outbox import OUTBOX, OUTBOX_INDEXES, Outbox, OutboxRelay
from common.settings import TelemetrySettings
from common.telemetry import configure_tracing
from common.testing.infra import Infra
from eventually import eventually

TOPIC = f"test.things.{uuid.uuid4().hex[:6]}.v1"
CONSUMER = f"test-consumer-{uuid.uuid4().hex[:6]}"


class ThingHappened(EventPayload):
    event_type: ClassVar[str] = "test.thing.happened"
    topic: ClassVar[str] = TOPIC
    thing_id: str
    n: int
    fail: bool = False


class ThingNoted(EventPayload):
    """Known on the topic, but this consumer has nothing to do with it."""

    event_type: ClassVar[str] = "test.thing.noted"
    topic: ClassVar[str] = TOPIC
    thing_id: str


class World:
    """What the test consumer did: its effects live in Mongo, its outcomes and traces in memory."""

    def __init__(self, client: AsyncMongoClient[Document], db: Database, broker: KafkaBroker) -> None:
        self.client, self.db, self.broker = client, db, broker
        self.outcomes: list[tuple[str, str]] = []
        self.trace_ids: dict[int, int] = {}
        self.dead_letters: list[tuple[bytes, dict[str, str]]] = []
        self.outbox = Outbox(db, source="urn:test:outbox")
        self.relay = OutboxRelay(db, broker, poll_interval=0.1)

    async def effects(self, thing_id: str) -> list[int]:
        doc = await self.db["effects"].find_one({"_id": thing_id})
        return list(doc["seen"]) if doc else []

    async def stage(self, thing_id: str, n: int, *, fail: bool = False) -> None:
        async def work(session: Session) -> None:
            await self.db["things"].update_one(
                {"_id": thing_id}, {"$set": {"n": n}}, upsert=True, session=session
            )
            await self.outbox.add(
                session,
                ThingHappened(thing_id=thing_id, n=n, fail=fail),
                key=thing_id,
                subject=f"things/{thing_id}",
            )

        await mongo.in_transaction(self.client, work)


@pytest.fixture(scope="module")
async def world(infra: Infra) -> AsyncIterator[World]:
    provider = configure_tracing("test", TelemetrySettings())
    client = mongo.create_client(infra.mongodb_url, app_name="outbox-test")
    db = client.get_database(f"outbox_test_{uuid.uuid4().hex[:8]}", codec_options=mongo.CODEC_OPTIONS)
    await mongo.apply_indexes(db, (*OUTBOX_INDEXES, *INBOX_INDEXES))
    broker = create_broker(infra.kafka_bootstrap_servers, client_id="outbox-test", tracer_provider=provider)
    world = World(client, db, broker)

    async def apply(payload: ThingHappened, event: CloudEvent, session: Session) -> None:
        if payload.fail:
            raise RuntimeError("this handler keeps failing")
        world.trace_ids[payload.n] = trace.get_current_span().get_span_context().trace_id
        await db["effects"].update_one(
            {"_id": payload.thing_id}, {"$push": {"seen": payload.n}}, upsert=True, session=session
        )

    class RecordingConsumer(EventConsumer):
        async def consume(self, message: IncomingMessage) -> str:
            outcome = await super().consume(message)
            world.outcomes.append((message.body.decode(errors="replace"), outcome))
            return outcome

    consumer = RecordingConsumer(
        name=CONSUMER,
        client=client,
        db=db,
        sink=broker,
        handlers={ThingHappened.event_type: Handler(ThingHappened, apply)},
        known_types=[ThingNoted.event_type],
        max_attempts=2,
        retry_backoff=0.01,
    )
    subscribe_consumer(broker, consumer, TOPIC)

    @broker.subscriber(
        consumer.dead_letter_topic, group_id=f"{CONSUMER}-dlq-reader", auto_offset_reset="earliest"
    )
    async def read_dead_letters(message: KafkaMessage) -> None:
        world.dead_letters.append((message.body, dict(message.headers)))

    await broker.start()
    yield world
    await world.relay.stop()
    await broker.stop()
    await client.close()


async def test_state_change_and_its_event_commit_or_roll_back_together(world: World) -> None:
    thing = f"rollback-{uuid.uuid4().hex[:6]}"

    async def work(session: Session) -> None:
        await world.db["things"].insert_one({"_id": thing}, session=session)
        await world.outbox.add(session, ThingHappened(thing_id=thing, n=1), key=thing, subject=thing)
        raise RuntimeError("the use case failed after staging")

    with pytest.raises(RuntimeError):
        await mongo.in_transaction(world.client, work)

    assert await world.db["things"].find_one({"_id": thing}) is None
    assert await world.db[OUTBOX].count_documents({"key": thing}) == 0


async def test_events_committed_before_a_crash_are_published_once_the_relay_runs(world: World) -> None:
    thing = f"crash-{uuid.uuid4().hex[:6]}"
    for n in (1, 2, 3):
        await world.stage(thing, n)  # no relay is running: the process "crashed" after commit
    assert await world.db[OUTBOX].count_documents({"key": thing, "status": "pending"}) == 3

    published = await world.relay.publish_pending()

    assert published >= 3
    await eventually(lambda: _equals(world.effects(thing), [1, 2, 3]), message="three effects")
    assert await world.db[OUTBOX].count_documents({"key": thing, "status": "pending"}) == 0


async def test_an_event_published_twice_takes_effect_once(world: World) -> None:
    thing = f"twice-{uuid.uuid4().hex[:6]}"
    await world.stage(thing, 7)
    await world.relay.publish_pending()
    await eventually(lambda: _equals(world.effects(thing), [7]), message="first delivery")
    # A crash between publish and mark-sent: the record is still pending when the relay restarts.
    await world.db[OUTBOX].update_many(
        {"key": thing}, {"$set": {"status": "pending"}, "$unset": {"sent_at": ""}}
    )

    await world.relay.publish_pending()

    await eventually(
        lambda: any(thing in body and o == "duplicate" for body, o in world.outcomes),
        message="the duplicate delivery",
    )
    assert await world.effects(thing) == [7]


async def test_the_relay_keeps_per_key_order(world: World) -> None:
    thing = f"order-{uuid.uuid4().hex[:6]}"
    for n in range(1, 21):
        await world.stage(thing, n)

    await world.relay.publish_pending()

    await eventually(lambda: _length(world.effects(thing), 20), message="twenty effects")
    assert await world.effects(thing) == list(range(1, 21))


async def test_a_running_relay_publishes_new_events_on_its_own(world: World) -> None:
    world.relay.start()
    thing = f"live-{uuid.uuid4().hex[:6]}"

    await world.stage(thing, 1)

    await eventually(lambda: _equals(world.effects(thing), [1]), message="the live relay")
    await world.relay.stop()


async def test_only_one_relay_holds_the_lease(world: World) -> None:
    other = OutboxRelay(world.db, world.broker, lease_seconds=30)
    mine = OutboxRelay(world.db, world.broker, lease_seconds=30)
    await mine.release_lease()

    first = await mine.hold_lease()
    second = await other.hold_lease()
    await mine.release_lease()
    after_release = await other.hold_lease()
    await other.release_lease()

    assert (first, second, after_release) == (True, False, True)


async def test_poison_messages_are_dead_lettered_and_the_partition_moves_on(world: World) -> None:
    thing = f"poison-{uuid.uuid4().hex[:6]}"
    key = thing.encode()
    headers = {"content-type": CLOUDEVENTS_CONTENT_TYPE}
    unknown = make_event(ThingNoted(thing_id=thing), source="urn:test", subject=thing).model_copy(
        update={"type": "test.thing.exploded"}
    )
    invalid = make_event(ThingHappened(thing_id=thing, n=1), source="urn:test", subject=thing).model_copy(
        update={"data": {"thing_id": thing, "n": "not a number"}}
    )
    failing = make_event(ThingHappened(thing_id=thing, n=2, fail=True), source="urn:test", subject=thing)
    ignored = make_event(ThingNoted(thing_id=thing), source="urn:test", subject=thing)
    good = make_event(ThingHappened(thing_id=thing, n=3), source="urn:test", subject=thing)
    for body in (
        b"not json at all {",
        unknown.to_bytes(),
        invalid.to_bytes(),
        failing.to_bytes(),
        ignored.to_bytes(),
        good.to_bytes(),
    ):
        await world.broker.publish(body, topic=TOPIC, key=key, headers=headers)

    await eventually(lambda: _equals(world.effects(thing), [3]), message="the good event after the poison")
    await eventually(
        lambda: len([h for b, h in world.dead_letters if key in b or b"not json" in b]) >= 4,
        message="four dead letters",
    )
    reasons = sorted(
        h["x-dead-letter-reason"]
        for b, h in world.dead_letters
        if thing.encode() in b or b == b"not json at all {"
    )
    assert reasons == ["handler-failed", "invalid-envelope", "invalid-payload", "unknown-type"]
    failed = next(
        h for b, h in world.dead_letters if h["x-dead-letter-reason"] == "handler-failed" and key in b
    )
    assert failed["x-dead-letter-attempts"] == "2"
    assert "keeps failing" in failed["x-dead-letter-error"]
    assert failed["x-dead-letter-topic"] == TOPIC
    assert any(thing in body and outcome == "ignored" for body, outcome in world.outcomes)


async def test_one_trace_follows_an_event_from_the_writer_through_kafka_to_the_consumer(world: World) -> None:
    thing = f"trace-{uuid.uuid4().hex[:6]}"
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("http request") as span:
        await world.stage(thing, 99)
        writer_trace = span.get_span_context().trace_id

    await world.relay.publish_pending()

    await eventually(lambda: 99 in world.trace_ids, message="the traced event")
    assert world.trace_ids[99] == writer_trace


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _length(value: Any, expected: int) -> bool:
    return len(await value) == expected
