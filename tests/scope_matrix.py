"""The scope matrix: every endpoint an API client may call, tried with a client holding each scope alone and
with one holding every scope but the one the endpoint needs; `common.scopes` is the table it checks.

A client holding the endpoint's scope is allowed (any answer but 403: 2xx, or 404/409/422 about the
request itself); every other client gets a 403 problem naming the required scope, the same problem
whether or not the ids in the path exist (the scope is checked before anything is looked up).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute

from common.scopes import SCOPES, required_scope

ALL = "every scope"
ALL_SCOPES = [s.name for s in SCOPES]


def endpoints_of(service: str) -> list[str]:
    return [e for s in SCOPES if s.service == service for e in s.endpoints]


def routes_of(app: FastAPI) -> set[str]:
    """Every `METHOD /path` of the app's API routes (not its OpenAPI document, docs and probes)."""
    routes: list[Any] = list(
        fastapi_routing.iter_route_contexts(app.routes)
        if hasattr(fastapi_routing, "iter_route_contexts")
        else app.routes
    )
    return {
        f"{method} {route.path}"
        for route in routes
        if isinstance(getattr(route, "original_route", route), APIRoute)
        for method in (route.methods or set()) - {"HEAD", "OPTIONS"}
    }


def matrix(service: str) -> list[Any]:
    """(endpoint, scopes held) for every endpoint of `service` in the table: each scope alone, and all but
    the required one."""
    cases = []
    for endpoint in endpoints_of(service):
        for held in [*ALL_SCOPES, "all but the required"]:
            cases.append(pytest.param(endpoint, held, id=f"{endpoint} [{held}]"))
    return cases


@dataclass
class Clients:
    """Access tokens of one organization's API clients: one client per scope set, created once."""

    only: dict[str, str] = field(default_factory=dict)  # scope -> a client holding only that scope
    all_but: dict[str, str] = field(default_factory=dict)  # scope -> a client holding every other scope
    every: str = ""  # a client holding every scope

    def holding(self, held: str, required: str) -> str:
        if held == ALL:
            return self.every
        return self.all_but[required] if held == "all but the required" else self.only[held]


async def _client(identity: httpx.AsyncClient, org_id: str, admin: dict[str, str], scopes: list[str]) -> str:
    created = await identity.post(
        f"/v1/organizations/{org_id}/clients", json={"name": "Scope matrix", "scopes": scopes}, headers=admin
    )
    assert created.status_code == 201, created.text
    token = await identity.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created.json()["client_id"],
            "client_secret": created.json()["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    assert sorted(token.json()["scope"].split()) == sorted(scopes), token.text
    return str(token.json()["access_token"])


async def scoped_clients(identity: httpx.AsyncClient, org_id: str, admin: dict[str, str]) -> Clients:
    clients = Clients()
    for scope in ALL_SCOPES:
        clients.only[scope] = await _client(identity, org_id, admin, [scope])
        clients.all_but[scope] = await _client(identity, org_id, admin, [s for s in ALL_SCOPES if s != scope])
    clients.every = await _client(identity, org_id, admin, ALL_SCOPES)
    return clients


@dataclass(frozen=True)
class Call:
    """How to call one endpoint in a test world: its ids, and ids of nothing at all."""

    ids: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def path(self, endpoint: str, *, unknown: frozenset[str] = frozenset()) -> tuple[str, str]:
        method, route = endpoint.split(" ", 1)
        ids = {k: (str(uuid.uuid4()) if k in unknown else v) for k, v in self.ids.items()}
        return method, route.format(**ids)


def scope_refusal(response: httpx.Response, scope: str) -> dict[str, Any]:
    """The 403 problem of a client lacking `scope`, after checking that it is one and names the scope."""
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = dict(response.json())
    assert body["required_scope"] == scope, body
    assert scope in body["detail"], body
    return body


async def try_endpoint(
    http: httpx.AsyncClient, endpoint: str, call: Call, token: str, *, unknown: frozenset[str] = frozenset()
) -> httpx.Response:
    method, path = call.path(endpoint, unknown=unknown)
    return await http.request(
        method, path, params=call.params, json=call.body, headers={"Authorization": f"Bearer {token}"}
    )


async def check_cell(
    http: httpx.AsyncClient,
    endpoint: str,
    call: Call,
    clients: Clients,
    held: str,
    *,
    resource_ids: frozenset[str],
) -> None:
    """One cell of the matrix: allowed with the required scope, refused (before any lookup) without it."""
    required = required_scope(*endpoint.split(" ", 1))
    assert required is not None, f"{endpoint} is not in the scope table"
    token = clients.holding(held, required)

    response = await try_endpoint(http, endpoint, call, token)

    if held == required:
        assert response.status_code != 403, f"{endpoint} refused a client holding {required}: {response.text}"
        assert response.status_code < 500, response.text
        return
    refused = scope_refusal(response, required)
    unknown = await try_endpoint(http, endpoint, call, token, unknown=resource_ids)
    same = ("type", "title", "status", "detail", "required_scope")
    assert {k: scope_refusal(unknown, required).get(k) for k in same} == {k: refused.get(k) for k in same}
