"""Fixtures of the campaigns tests: identity, coalition (root conftest) and campaigns on the same servers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from campaigns_world import CampaignsWorld
from fastapi import FastAPI
from identity_api import ISSUER, IdentityApi

from campaigns.app import create_app as create_campaigns
from campaigns.config import Settings as CampaignsSettings
from common.auth import JwksKeySource
from common.testing.infra import Infra


def campaigns_test_settings(infra: Infra, **overrides: object) -> CampaignsSettings:
    values: dict[str, object] = {
        "environment": "test",
        "mongodb_url": infra.mongodb_url,
        "mongodb_database": f"campaigns_{uuid.uuid4().hex[:8]}",
        "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
        "auth_issuer": ISSUER,
        "public_url": "http://campaigns.test",
        "outbox_poll_interval_seconds": 0.2,
        "schedule_sweep_seconds": 0.5,
        "pending_sweep_seconds": 0.5,
        "public_rate_limit": 100_000,
        "public_challenge_required": False,  # the proof-of-work has its own tests (test_challenge.py)
        **overrides,
    }
    return CampaignsSettings.model_validate(values)


@pytest.fixture(scope="session")
async def campaigns_app(
    infra: Infra, identity_http: httpx.AsyncClient, coalition_app: FastAPI
) -> AsyncIterator[FastAPI]:
    keys = JwksKeySource(f"{ISSUER}/.well-known/jwks.json", http=identity_http, min_refresh_interval=0)
    app = create_campaigns(campaigns_test_settings(infra), keys=keys)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=90):
        yield app


@pytest.fixture(scope="session")
async def campaigns_http(campaigns_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=campaigns_app, client=("203.0.113.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://campaigns.test") as client:
        yield client


@pytest.fixture
def cw(
    identity_http: httpx.AsyncClient,
    coalition_http: httpx.AsyncClient,
    coalition_app: FastAPI,
    campaigns_http: httpx.AsyncClient,
    campaigns_app: FastAPI,
) -> CampaignsWorld:
    return CampaignsWorld(
        IdentityApi(identity_http), coalition_http, coalition_app, campaigns_http, campaigns_app
    )
