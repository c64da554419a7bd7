"""Session fixtures shared by every service's tests: one identity and one coalition service.

They live here, not in a service's test folder, because the coalition service's consumer group must
have one member per test session: two coalition apps in one session would split the identity topic's
partitions between them and each would miss organizations.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from identity_api import ISSUER, identity_test_settings

from coalition.app import create_app as create_coalition
from coalition.config import Settings as CoalitionSettings
from common.auth import JwksKeySource
from common.testing.infra import Infra
from identity.app import create_app as create_identity


@pytest.fixture(scope="session")
async def identity_for_coalition(infra: Infra) -> AsyncIterator[FastAPI]:
    settings = identity_test_settings(
        infra, admin_email="coalition-admin@example.org", admin_password="Violet-Kettle-Orbit-42"
    )
    app = create_identity(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=90):
        yield app


@pytest.fixture(scope="session")
async def identity_http(identity_for_coalition: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=identity_for_coalition)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


@pytest.fixture(scope="session")
async def coalition_app(infra: Infra, identity_http: httpx.AsyncClient) -> AsyncIterator[FastAPI]:
    settings = CoalitionSettings(
        environment="test",
        mongodb_url=infra.mongodb_url,
        mongodb_database=f"coalition_{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        auth_issuer=ISSUER,
        outbox_poll_interval_seconds=0.2,
        expiry_sweep_seconds=0.5,
    )
    keys = JwksKeySource(f"{ISSUER}/.well-known/jwks.json", http=identity_http, min_refresh_interval=0)
    app = create_coalition(settings, keys=keys)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=90):
        yield app


@pytest.fixture(scope="session")
async def coalition_http(coalition_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=coalition_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://coalition.test") as client:
        yield client
