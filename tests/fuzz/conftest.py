"""Fixtures of the fuzz tests: each service's app in-process, a client that shows its 5xx, a signed-in user.

Identity and coalition are the session's shared apps (root conftest.py). Campaigns and notifications run
here as the HTTP API only (`Role.API`): no consumers and no relay, so they take nothing from the topics the
services' own tests consume, and fuzzed requests never reach a webhook or a mail server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from identity_api import ISSUER, IdentityApi

from campaigns.app import create_app as create_campaigns
from campaigns.config import Settings as CampaignsSettings
from common.auth import JwksKeySource
from common.runtime import Role
from common.testing.infra import Infra
from fuzz.targets import Fuzzer, Target
from notifications.app import create_app as create_notifications
from notifications.config import Settings as NotificationsSettings
from notifications.domain.addresses import IPAddress


def _settings(infra: Infra, service: str) -> dict[str, object]:
    return {
        "environment": "test",
        "mongodb_url": infra.mongodb_url,
        "mongodb_database": f"{service}_fuzz_{uuid.uuid4().hex[:8]}",
        "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
        "auth_issuer": ISSUER,
    }


def _keys(identity_http: httpx.AsyncClient) -> JwksKeySource:
    return JwksKeySource(f"{ISSUER}/.well-known/jwks.json", http=identity_http, min_refresh_interval=0)


async def _unresolvable(host: str, port: int) -> list[IPAddress]:
    return []  # webhook hosts drawn by the fuzzer are never looked up in real DNS


@pytest.fixture(scope="session")
async def fuzzer(identity_http: httpx.AsyncClient) -> Fuzzer:
    api = IdentityApi(identity_http)
    person = await api.person("fuzzer")
    organization = await api.organization(person, name="Fuzzing Association")
    return Fuzzer(person, str(organization["id"]))


async def _client(app: FastAPI, base_url: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.20", 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.fixture(scope="session")
async def identity_target(identity_for_coalition: FastAPI, fuzzer: Fuzzer) -> AsyncIterator[Target]:
    async with await _client(identity_for_coalition, ISSUER) as http:
        yield Target(http, fuzzer.person, {"org_id": fuzzer.org_id, "user_id": fuzzer.person.id})


@pytest.fixture(scope="session")
async def coalition_target(coalition_app: FastAPI, fuzzer: Fuzzer) -> AsyncIterator[Target]:
    async with await _client(coalition_app, "http://coalition.test") as http:
        yield Target(http, fuzzer.person, {"org_id": fuzzer.org_id})


@pytest.fixture(scope="session")
async def campaigns_target(
    infra: Infra, identity_http: httpx.AsyncClient, fuzzer: Fuzzer
) -> AsyncIterator[Target]:
    settings = CampaignsSettings.model_validate(
        {
            **_settings(infra, "campaigns"),
            "public_url": "http://campaigns.test",
            "public_rate_limit": 100_000,
            "public_challenge_required": False,  # the fuzzer reaches the action intake itself
        }
    )
    app = create_campaigns(settings, role=Role.API, keys=_keys(identity_http))
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=90),
        await _client(app, "http://campaigns.test") as http,
    ):
        yield Target(http, fuzzer.person, {"organization_id": fuzzer.org_id})


@pytest.fixture(scope="session")
async def notifications_target(
    infra: Infra, identity_http: httpx.AsyncClient, fuzzer: Fuzzer
) -> AsyncIterator[Target]:
    settings = NotificationsSettings.model_validate(_settings(infra, "notifications"))
    app = create_notifications(settings, role=Role.API, keys=_keys(identity_http), resolver=_unresolvable)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=90),
        await _client(app, "http://notifications.test") as http,
    ):
        yield Target(http, fuzzer.person, {"org_id": fuzzer.org_id})


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Target:
    """The service named by the test's `service` parameter (only the services a run selects are started)."""
    service = request.node.callspec.params["service"]
    found: Target = request.getfixturevalue(f"{service}_target")
    return found
