"""Fixtures of the campaigns tests: identity, coalition (root conftest) and campaigns on the same servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from campaigns_world import CampaignsWorld, campaigns_test_settings
from fastapi import FastAPI
from identity_api import ISSUER, IdentityApi

from campaigns.app import create_app as create_campaigns
from common.auth import JwksKeySource
from common.testing.infra import Infra


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
