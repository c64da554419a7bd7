"""The real servers tests run on: transactions, change streams and Kafka round trips work on each kind."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from faststream.kafka import KafkaBroker

from common import mongo
from common.testing.infra import Infra


async def _check_servers(infra: Infra) -> None:
    client = mongo.create_client(infra.mongodb_url, app_name="infra-check")
    db = client.get_database(f"infra_{uuid.uuid4().hex[:8]}")
    try:
        async with await db["things"].watch() as stream:

            async def write(session: mongo.Session) -> None:
                await db["things"].insert_one({"_id": 1}, session=session)

            await mongo.in_transaction(client, write)
            change = await asyncio.wait_for(stream.next(), timeout=10)
        assert change["documentKey"] == {"_id": 1}
    finally:
        await client.drop_database(db.name)
        await client.close()

    topic = f"infra.check.{uuid.uuid4().hex[:6]}"
    broker = KafkaBroker(infra.kafka_bootstrap_servers, enable_idempotence=False)
    received: asyncio.Queue[bytes] = asyncio.Queue()

    @broker.subscriber(topic, group_id=f"g-{topic}", auto_offset_reset="earliest")
    async def on_message(body: bytes) -> None:
        await received.put(body)

    async with broker:
        await broker.start()
        await broker.publish(b"hello", topic=topic, key=b"k")
        assert await asyncio.wait_for(received.get(), timeout=30) == b"hello"


async def test_selected_servers_support_transactions_change_streams_and_kafka(infra: Infra) -> None:
    await _check_servers(infra)


@pytest.mark.docker
async def test_docker_servers_support_the_same(docker_only_infra: Infra) -> None:
    """The testcontainers variant; skips with the reason where no Docker daemon answers."""
    await _check_servers(docker_only_infra)
