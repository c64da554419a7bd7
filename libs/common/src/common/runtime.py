"""A service's connections and background roles: Mongo, the Kafka broker, consumers, the outbox relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from pymongo import AsyncMongoClient

from common import mongo
from common.inbox import INBOX_INDEXES
from common.kafka import create_broker
from common.mongo import Database, Document, Indexes
from common.outbox import OUTBOX_INDEXES, Outbox, OutboxRelay, TopicPublishers, drop_legacy_indexes
from common.settings import KafkaSettings, MongoSettings

log = logging.getLogger(__name__)

BROKER_STOP_TIMEOUT = 15.0


class Role(StrEnum):
    """What one process of a service runs (the CLI subcommands)."""

    SERVE = "serve"  # api + consumers + relay
    API = "api"
    WORKER = "worker"  # consumers only
    RELAY = "relay"

    @property
    def runs_consumers(self) -> bool:
        return self in (Role.SERVE, Role.WORKER)

    @property
    def runs_relay(self) -> bool:
        return self in (Role.SERVE, Role.RELAY)


@dataclass
class Runtime:
    """Everything with a connection, built from settings, started and stopped as one."""

    service: str
    client: AsyncMongoClient[Document]
    db: Database
    broker: KafkaBroker
    outbox: Outbox
    relay: OutboxRelay
    role: Role = Role.SERVE
    indexes: Sequence[Indexes] = ()
    _started: bool = field(default=False, init=False)

    @classmethod
    def build(
        cls,
        *,
        service: str,
        mongo_settings: MongoSettings,
        kafka_settings: KafkaSettings,
        source: str,
        role: Role,
        tracer_provider: TracerProvider | None,
        indexes: Sequence[Indexes] = (),
        register_consumers: Callable[[Runtime], None] | None = None,
        declare_publishers: Callable[[KafkaBroker], dict[str, Any]] | None = None,
    ) -> Runtime:
        client = mongo.create_client(mongo_settings.mongodb_url, app_name=service)
        db = client.get_database(
            mongo_settings.mongodb_database or service, codec_options=mongo.CODEC_OPTIONS
        )
        broker = create_broker(
            kafka_settings.kafka_bootstrap_servers,
            client_id=service,
            tracer_provider=tracer_provider,
        )
        publishers = declare_publishers(broker) if declare_publishers else {}
        relay = OutboxRelay(
            db, TopicPublishers(broker, publishers), poll_interval=kafka_settings.outbox_poll_interval_seconds
        )
        runtime = cls(
            service=service,
            client=client,
            db=db,
            broker=broker,
            outbox=Outbox(db, source=source),
            relay=relay,
            role=role,
            indexes=(*OUTBOX_INDEXES, *INBOX_INDEXES, *indexes),
        )
        if role.runs_consumers and register_consumers is not None:
            register_consumers(runtime)
        return runtime

    async def start(self) -> None:
        await drop_legacy_indexes(self.db)
        await mongo.apply_indexes(self.db, self.indexes)
        await self.broker.start()
        if self.role.runs_relay:
            self.relay.start()
        self._started = True

    async def stop(self) -> None:
        started = time.perf_counter()
        if self._started:
            await self.relay.stop()
            log.info("%s: outbox relay stopped after %.2fs", self.service, time.perf_counter() - started)
            try:
                # Leaving a consumer group can stall on a broker mid-rebalance; uncommitted offsets are
                # simply consumed again after a restart and skipped by the inbox, so do not hang here.
                async with asyncio.timeout(BROKER_STOP_TIMEOUT):
                    await self.broker.stop()
            except TimeoutError:
                log.warning("%s: Kafka broker did not stop within %ss", self.service, BROKER_STOP_TIMEOUT)
            log.info("%s: Kafka broker stopped after %.2fs", self.service, time.perf_counter() - started)
        await self.client.close()
        self._started = False

    async def mongo_ready(self) -> bool:
        return await mongo.ping(self.client)

    async def kafka_ready(self) -> bool:
        try:
            return await self.broker.ping(timeout=2.0)
        except Exception:
            return False


async def every(seconds: float, work: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `work` every `seconds` until cancelled; a failure is logged and retried at the next turn."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:
            log.exception("%s failed; will retry", what)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait until it has finished."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
