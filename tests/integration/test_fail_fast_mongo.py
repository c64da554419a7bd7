"""When MongoDB stops answering, every service answers 503 problem+json with Retry-After within its request
deadline instead of hanging, and serves again once MongoDB is back.

MongoDB here is a separate embedded server that the test freezes (SIGSTOP) and resumes (SIGCONT): frozen,
it keeps its connections open and accepts new ones but never replies, as a stalled or partitioned server does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from identity_api import PASSWORD

from campaigns.app import create_app as create_campaigns
from campaigns.config import Settings as CampaignsSettings
from coalition.app import create_app as create_coalition
from coalition.config import Settings as CoalitionSettings
from common.embedded import EmbeddedMongo, free_port
from common.errors import PROBLEM_JSON
from common.runtime import Role
from common.testing.infra import Infra
from common.testing.serving import served
from eventually import eventually
from identity.app import create_app as create_identity
from identity.config import Settings as IdentitySettings
from notifications.app import create_app as create_notifications
from notifications.config import Settings as NotificationsSettings

REQUEST_TIMEOUT_SECONDS = 2.0
# How long the client waits for any answer: ten times the deadline, well short of PyMongo's own 20-30 s.
PATIENCE_SECONDS = 10 * REQUEST_TIMEOUT_SECONDS
RECOVERY_SECONDS = 60.0


@pytest.fixture(scope="module")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongo]:
    work = tmp_path_factory.mktemp("fail-fast-mongo")
    server = EmbeddedMongo(port=free_port(), data_dir=work / "data", log_path=work / "mongod.log")
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


@contextlib.contextmanager
def frozen(mongo: EmbeddedMongo) -> Iterator[None]:
    """MongoDB stopped in its tracks for the duration; always resumed."""
    assert mongo.process is not None
    os.kill(mongo.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(mongo.process.pid, signal.SIGCONT)


@dataclass(frozen=True)
class Platform:
    urls: dict[str, str]
    token: str
    email: str


@pytest.fixture(scope="module")
async def platform(mongo: EmbeddedMongo, infra: Infra) -> AsyncIterator[Platform]:
    """The four services (API role) on that MongoDB with a short request deadline, and one signed-in user."""
    common = {
        "environment": "test",
        "host": "127.0.0.1",
        "mongodb_url": mongo.url,
        "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
        "mongodb_request_timeout_seconds": REQUEST_TIMEOUT_SECONDS,
    }
    identity_port = free_port()
    identity_url = f"http://127.0.0.1:{identity_port}"
    resource = {
        **common,
        "auth_issuer": identity_url,
        "auth_jwks_url": f"{identity_url}/.well-known/jwks.json",
    }
    identity = IdentitySettings.model_validate(
        {**common, "port": identity_port, "argon2_time_cost": 1, "argon2_memory_kib": 8192}
    )
    coalition = CoalitionSettings.model_validate({**resource, "port": free_port()})
    campaigns = CampaignsSettings.model_validate(
        {**resource, "port": free_port(), "public_rate_limit": 100_000}
    )
    notifications = NotificationsSettings.model_validate({**resource, "port": free_port()})
    urls: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name, app, settings in (
            ("identity", create_identity(identity, role=Role.API), identity),
            ("coalition", create_coalition(coalition, role=Role.API), coalition),
            ("campaigns", create_campaigns(campaigns, role=Role.API), campaigns),
            ("notifications", create_notifications(notifications, role=Role.API), notifications),
        ):
            urls[name] = await stack.enter_async_context(served(app, settings))
        email = f"fail-fast-{uuid.uuid4().hex[:10]}@example.org"
        async with httpx.AsyncClient(base_url=identity_url, timeout=30) as http:
            registered = await http.post(
                "/v1/users", json={"email": email, "password": PASSWORD, "display_name": "Fail Fast"}
            )
            assert registered.status_code == 201, registered.text
            login = await http.post(
                "/oauth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
        yield Platform(urls, login.json()["access_token"], email)


Call = Callable[[httpx.AsyncClient, Platform], Awaitable[httpx.Response]]


async def _sign_in(http: httpx.AsyncClient, platform: Platform) -> httpx.Response:
    form = {"grant_type": "password", "username": platform.email, "password": PASSWORD}
    return await http.post("/oauth/token", data=form)


async def _coalitions_of_an_organization(http: httpx.AsyncClient, _: Platform) -> httpx.Response:
    return await http.get(f"/v1/organizations/{uuid.uuid4()}/coalitions")


async def _public_link(http: httpx.AsyncClient, _: Platform) -> httpx.Response:
    return await http.get(f"/v1/public/links/{uuid.uuid4().hex[:12]}")


async def _my_notices(http: httpx.AsyncClient, platform: Platform) -> httpx.Response:
    return await http.get("/v1/me/notices", headers={"Authorization": f"Bearer {platform.token}"})


# One request per service that needs MongoDB: public where the service has a public one.
REQUESTS: dict[str, Call] = {
    "identity": _sign_in,
    "coalition": _coalitions_of_an_organization,
    "campaigns": _public_link,
    "notifications": _my_notices,
}


async def _answer_while_frozen(
    mongo: EmbeddedMongo, call: Callable[[], Awaitable[httpx.Response]]
) -> httpx.Response:
    with frozen(mongo):
        try:
            return await call()
        except httpx.TimeoutException:
            pytest.fail(f"no answer within {PATIENCE_SECONDS}s while MongoDB was frozen")


async def _answer_once_recovered(
    call: Callable[[], Awaitable[httpx.Response]], recovered: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """The first answer after the resume that shows MongoDB answering again (the pool reconnects)."""
    answers: list[httpx.Response] = []

    async def answered() -> bool:
        answers.append(await call())
        return recovered(answers[-1])

    await eventually(answered, within=RECOVERY_SECONDS, interval=0.5, message="MongoDB to answer again")
    return answers[-1]


@pytest.mark.parametrize("service", REQUESTS)
async def test_a_frozen_mongodb_is_503_with_retry_after_then_served_again(
    mongo: EmbeddedMongo, platform: Platform, service: str
) -> None:
    call = REQUESTS[service]
    async with httpx.AsyncClient(base_url=platform.urls[service], timeout=PATIENCE_SECONDS) as http:
        before = await call(http, platform)
        assert before.status_code < 500, before.text

        during = await _answer_while_frozen(mongo, lambda: call(http, platform))

        after = await _answer_once_recovered(lambda: call(http, platform), lambda r: r.status_code != 503)

    assert during.status_code == 503, during.text
    assert during.headers["content-type"] == PROBLEM_JSON
    assert during.json()["status"] == 503
    assert int(during.headers["retry-after"]) >= 1
    assert after.status_code == before.status_code, after.text


@pytest.mark.parametrize("service", REQUESTS)
async def test_readiness_reports_a_frozen_mongodb(
    mongo: EmbeddedMongo, platform: Platform, service: str
) -> None:
    async with httpx.AsyncClient(base_url=platform.urls[service], timeout=PATIENCE_SECONDS) as http:
        during = await _answer_while_frozen(mongo, lambda: http.get("/readyz"))
        after = await _answer_once_recovered(
            lambda: http.get("/readyz"), lambda r: r.json()["checks"]["mongodb"] == "ok"
        )

    assert during.status_code == 503
    assert during.json()["checks"]["mongodb"] == "failing"
    assert after.json()["checks"]["mongodb"] == "ok"
