"""The proof-of-work on public actions (ALTCHA, self-hosted): required by default, verified on the server,
each solution spent once (on any replica), and a honeypot field that people never fill."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from campaigns_world import CampaignsWorld, campaigns_test_settings, problem, supporter
from identity_api import ISSUER

from campaigns.app import create_app
from campaigns.config import Settings
from common.auth import JwksKeySource
from common.runtime import Role
from common.testing.altcha import solve
from common.testing.infra import Infra


@pytest.fixture(scope="module")
async def guarded(
    infra: Infra, campaigns_app: Any, identity_http: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """A second API replica on the same database with the challenge required, as deployed."""
    shared: Settings = campaigns_app.state.settings
    settings = campaigns_test_settings(
        infra, mongodb_database=shared.mongodb_database, public_challenge_required=True
    )
    keys = JwksKeySource(f"{ISSUER}/.well-known/jwks.json", http=identity_http, min_refresh_interval=0)
    app = create_app(settings, role=Role.API, keys=keys)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.11", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://campaigns.test") as client:
            yield client


async def solved(http: httpx.AsyncClient) -> str:
    response = await http.get("/v1/public/challenge")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    challenge = response.json()
    assert set(challenge) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert "expires=" in challenge["salt"]
    return solve(challenge)


async def sign(http: httpx.AsyncClient, ref: str, **fields: Any) -> httpx.Response:
    return await http.post(f"/v1/public/links/{ref}/signatures", json={"supporter": supporter(), **fields})


async def test_an_action_needs_a_solved_challenge_and_each_solution_works_once(
    cw: CampaignsWorld, guarded: httpx.AsyncClient
) -> None:
    owner = await cw.org("owner")
    campaign = await cw.launched(owner)
    ref = await cw.link_of(campaign["id"], owner)
    page = (await guarded.get(f"/v1/public/links/{ref}")).json()
    assert page["challenge_required"] is True

    missing = problem(await sign(guarded, ref), 400)
    assert missing["type"].endswith("/challenge-failed")
    payload = await solved(guarded)
    first = await sign(guarded, ref, altcha=payload)
    assert first.status_code == 201, first.text
    replayed = problem(await sign(guarded, ref, altcha=payload), 409)
    assert replayed["type"].endswith("/challenge-used")
    # The same solution at once on two requests: one passes.
    again = await solved(guarded)
    both = await asyncio.gather(sign(guarded, ref, altcha=again), sign(guarded, ref, altcha=again))
    assert sorted(r.status_code for r in both) == [201, 409]


async def test_a_forged_wrong_or_expired_solution_is_refused(
    cw: CampaignsWorld, guarded: httpx.AsyncClient
) -> None:
    owner = await cw.org("owner")
    ref = await cw.link_of((await cw.launched(owner))["id"], owner)
    challenge = (await guarded.get("/v1/public/challenge")).json()
    good = json.loads(base64.b64decode(solve(challenge)))

    def encoded(**changes: Any) -> str:
        return base64.b64encode(json.dumps({**good, **changes}).encode()).decode()

    for altcha in (
        encoded(number=good["number"] + 1),  # not the solution
        encoded(signature="0" * 64),  # not signed here
        encoded(algorithm="SHA-1"),
        encoded(salt=good["salt"].split("?")[0] + "?expires=1"),  # signed challenge, other salt
        encoded(number="12"),
        "bm90IGpzb24=",  # not JSON
        "!!!",
    ):
        refused = await sign(guarded, ref, altcha=altcha)
        assert refused.status_code in (400, 422), refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await sign(guarded, ref, altcha=encoded())).status_code == 201


async def test_a_filled_honeypot_is_refused_even_with_a_solution(
    cw: CampaignsWorld, guarded: httpx.AsyncClient
) -> None:
    owner = await cw.org("owner")
    ref = await cw.link_of((await cw.launched(owner))["id"], owner)
    robot = problem(
        await sign(guarded, ref, altcha=await solved(guarded), website="http://spam.example"), 400
    )
    assert robot["field"] == "website"
    assert (await sign(guarded, ref, altcha=await solved(guarded), website="")).status_code == 201


async def test_with_the_challenge_turned_off_no_solution_is_needed(cw: CampaignsWorld) -> None:
    owner = await cw.org("owner")
    ref = await cw.link_of((await cw.launched(owner))["id"], owner)
    assert (await cw.public(ref))["challenge_required"] is False
    assert (await cw.act(ref)).status_code == 201


async def test_a_retried_request_with_its_idempotency_key_replays_without_a_new_solution(
    cw: CampaignsWorld, guarded: httpx.AsyncClient
) -> None:
    owner = await cw.org("owner")
    ref = await cw.link_of((await cw.launched(owner))["id"], owner)
    body = {"supporter": supporter(), "altcha": await solved(guarded)}
    headers = {"Idempotency-Key": "retry-1"}
    first = await guarded.post(f"/v1/public/links/{ref}/signatures", json=body, headers=headers)
    retry = await guarded.post(f"/v1/public/links/{ref}/signatures", json=body, headers=headers)

    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.json()["replayed"] is True
    assert retry.json()["action"]["id"] == first.json()["action"]["id"]
    other = {**body, "supporter": supporter()}  # the same key and solution for another request: refused
    assert (
        await guarded.post(f"/v1/public/links/{ref}/signatures", json=other, headers=headers)
    ).status_code == 409
