"""Fixtures of the notifications tests: identity and notifications on real servers, a real webhook
receiver and a real SMTP sink on loopback, and a Kafka producer standing in for coalition and campaigns."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from faststream.kafka import KafkaBroker
from identity_api import ISSUER, IdentityApi, identity_test_settings
from notifications_world import NotificationsStack, NotificationsWorld
from webhook_receiver import Receiver

from common.auth import JwksKeySource
from common.embedded import free_port
from common.kafka import create_broker
from common.testing.infra import Infra
from identity.app import create_app as create_identity
from notifications.config import Settings
from notifications.domain.addresses import IPAddress
from notifications.smtp_sink import SmtpSink
from notifications.ssrf import system_resolver


@pytest.fixture(scope="session")
async def identity_for_notifications(infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    settings = identity_test_settings(
        infra, admin_email="notifications-admin@example.org", admin_password="Amber-Lantern-Quartz-17"
    )
    app = create_identity(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=90):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            yield client


@pytest.fixture(scope="session")
async def smtp_sink(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SmtpSink]:
    async with SmtpSink(port=free_port(), maildir=tmp_path_factory.mktemp("mail")) as sink:
        yield sink


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def test_dns() -> dict[str, list[str]]:
    """Host names the service resolves as the test says (for DNS-rebinding checks); others as usual."""
    return {}


@pytest.fixture(scope="session")
async def producer(infra: Infra) -> AsyncIterator[KafkaBroker]:
    broker = create_broker(infra.kafka_bootstrap_servers, client_id="notifications-tests")
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(scope="session")
async def stack(
    infra: Infra,
    identity_for_notifications: httpx.AsyncClient,
    smtp_sink: SmtpSink,
    test_dns: dict[str, list[str]],
) -> AsyncIterator[NotificationsStack]:
    settings = Settings(
        environment="test",
        mongodb_url=infra.mongodb_url,
        mongodb_database=f"notifications_{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        auth_issuer=ISSUER,
        outbox_poll_interval_seconds=0.2,
        retry_schedule_seconds=[0, 0.3, 0.3, 0.3],
        retry_jitter_ratio=0,
        delivery_timeout_seconds=1.0,
        delivery_lease_seconds=10,
        # Polling is only the fallback: every test here passes without it (woken, or timed, deliveries).
        delivery_poll_seconds=3600,
        endpoint_rate_per_second=50,
        allow_loopback_endpoints=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        mail_retry_seconds=0.2,
        mail_max_attempts=3,
        # Digests fall due when a test moves the stack's clock forward (MovableClock), never by waiting.
        letter_digest_seconds=3600,
        letter_retry_seconds=0.2,
        letter_max_attempts=3,
    )
    keys = JwksKeySource(
        f"{ISSUER}/.well-known/jwks.json", http=identity_for_notifications, min_refresh_interval=0
    )

    async def resolver(host: str, port: int) -> list[IPAddress]:
        if host in test_dns:
            return [ipaddress.ip_address(a) for a in test_dns[host]]
        return await system_resolver(host, port)

    running = NotificationsStack(settings, keys=keys, resolver=resolver)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
def world_for_module(
    identity_for_notifications: httpx.AsyncClient,
    stack: NotificationsStack,
    receiver: Receiver,
    smtp_sink: SmtpSink,
    producer: KafkaBroker,
    test_dns: dict[str, list[str]],
) -> NotificationsWorld:
    return NotificationsWorld(
        IdentityApi(identity_for_notifications), stack, receiver, smtp_sink, producer, test_dns
    )


@pytest.fixture
def world(
    identity_for_notifications: httpx.AsyncClient,
    stack: NotificationsStack,
    receiver: Receiver,
    smtp_sink: SmtpSink,
    producer: KafkaBroker,
    test_dns: dict[str, list[str]],
) -> NotificationsWorld:
    return NotificationsWorld(
        IdentityApi(identity_for_notifications), stack, receiver, smtp_sink, producer, test_dns
    )
