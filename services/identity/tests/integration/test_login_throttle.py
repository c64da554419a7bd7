"""Password guessing is throttled per (account, client address) atomically, with a per-account ceiling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from identity_api import ISSUER, IdentityApi, Person

from identity.domain.throttle import LoginThrottlePolicy

WRONG = "certainly not the password"
FromAddress = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def from_address(identity_app: FastAPI) -> FromAddress:
    """A client whose requests come from the given address (as the connection's peer)."""

    @asynccontextmanager
    async def client(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=identity_app, client=(address, 40_000))
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
            yield http

    return client


async def _login(http: httpx.AsyncClient, person: Person, password: str) -> httpx.Response:
    return await http.post(
        "/oauth/token", data={"grant_type": "password", "username": person.email, "password": password}
    )


async def test_concurrent_wrong_passwords_are_evaluated_at_most_the_limit(
    api: IdentityApi, identity_app: FastAPI, from_address: FromAddress
) -> None:
    person = await api.person()
    hasher = identity_app.state.identity.hasher
    async with from_address("198.51.100.10") as http:
        before = hasher.verifications
        answers = await asyncio.gather(*(_login(http, person, WRONG) for _ in range(30)))
        evaluated = hasher.verifications - before

    statuses = sorted(a.status_code for a in answers)
    assert evaluated == 5
    assert statuses == [400] * 5 + [429] * 25
    refused = [a for a in answers if a.status_code == 429]
    assert all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    assert all(a.json()["error"] == "invalid_grant" for a in answers)


async def test_a_locked_address_does_not_lock_the_owner_out_from_another_address(
    api: IdentityApi, from_address: FromAddress
) -> None:
    person = await api.person()
    async with from_address("198.51.100.20") as attacker, from_address("203.0.113.20") as owner:
        for _ in range(5):
            assert (await _login(attacker, person, WRONG)).status_code == 400
        attacker_with_the_right_password = await _login(attacker, person, person.password)
        owner_signs_in = await _login(owner, person, person.password)

    assert attacker_with_the_right_password.status_code == 429
    assert int(attacker_with_the_right_password.headers["Retry-After"]) >= 1
    assert owner_signs_in.status_code == 200, owner_signs_in.text


async def test_forwarded_for_header_is_not_trusted_by_default(
    api: IdentityApi, from_address: FromAddress
) -> None:
    person = await api.person()
    async with from_address("198.51.100.30") as attacker:
        for _ in range(5):
            await _login(attacker, person, WRONG)
        disguised = await attacker.post(
            "/oauth/token",
            data={"grant_type": "password", "username": person.email, "password": person.password},
            headers={"X-Forwarded-For": "203.0.113.99"},
        )

    assert disguised.status_code == 429


async def test_a_successful_sign_in_resets_the_count(api: IdentityApi, from_address: FromAddress) -> None:
    person = await api.person()
    async with from_address("198.51.100.40") as http:
        for _ in range(4):
            await _login(http, person, WRONG)
        assert (await _login(http, person, person.password)).status_code == 200
        again = [await _login(http, person, WRONG) for _ in range(4)]

    assert [a.status_code for a in again] == [400] * 4


async def test_one_ipv6_network_counts_as_one_address(api: IdentityApi, from_address: FromAddress) -> None:
    person = await api.person()
    for host in range(1, 6):
        async with from_address(f"2001:db8:1:2::{host}") as http:
            assert (await _login(http, person, WRONG)).status_code == 400
    async with from_address("2001:db8:1:2::ff") as same_network:
        refused = await _login(same_network, person, person.password)

    assert refused.status_code == 429


async def test_guessing_spread_over_many_addresses_meets_the_account_ceiling(
    api: IdentityApi, identity_app: FastAPI, from_address: FromAddress, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = identity_app.state.identity
    monkeypatch.setattr(
        service, "throttle", LoginThrottlePolicy(**{**dict(service.throttle), "account_ceiling": 3})
    )
    person = await api.person()
    answers = []
    for host in range(1, 5):
        async with from_address(f"192.0.2.{host}") as http:
            answers.append(await _login(http, person, WRONG))
    async with from_address("192.0.2.200") as owner:
        owner_meanwhile = await _login(owner, person, person.password)

    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert owner_meanwhile.status_code == 429
    assert 1 <= int(owner_meanwhile.headers["Retry-After"]) <= 901
