"""Fixtures of the identity tests: one identity app on real servers for the whole run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from identity_api import ADMIN_EMAIL, ADMIN_PASSWORD, ISSUER, IdentityApi, identity_test_settings

from common.testing.infra import Infra
from identity.app import create_app
from identity.config import Settings


@pytest.fixture(scope="session")
def identity_settings(infra: Infra) -> Settings:
    return identity_test_settings(infra, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD)


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
