"""Fixtures of the identity tests: one identity app on real servers for the whole run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from identity_api import ADMIN_EMAIL, ADMIN_PASSWORD, ISSUER, IdentityApi
from pydantic import SecretStr

from common.testing.infra import Infra
from identity.app import create_app
from identity.config import Settings


@pytest.fixture(scope="session")
def identity_settings(infra: Infra) -> Settings:
    return Settings(
        environment="test",
        mongodb_url=infra.mongodb_url,
        mongodb_database=f"identity_test_{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        public_url=ISSUER,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        bootstrap_admin_email=ADMIN_EMAIL,
        bootstrap_admin_password=SecretStr(ADMIN_PASSWORD),
        outbox_poll_interval_seconds=0.2,
        login_base_lockout_seconds=30,
    )


@pytest.fixture(scope="session")
async def identity_app(identity_settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(identity_settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=90):
        yield app


@pytest.fixture(scope="session")
async def http(identity_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=identity_app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> IdentityApi:
    return IdentityApi(http)
