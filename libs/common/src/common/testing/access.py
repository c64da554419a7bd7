"""Test helpers for access revocation: the authenticated routes of an app, waiting for the projection, and
the sweep (a valid request per route, sent with a token before and after its holder lost access)."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from common.access import AccessProjection
from common.auth import current_principal, optional_principal

PARAM = re.compile(r"\{([^}:]+)(:[^}]*)?\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    def fill(self, **ids: str) -> str:
        """The path with the given ids, and a random UUID for every other parameter."""
        return PARAM.sub(lambda m: ids.get(m.group(1), str(uuid.uuid4())), self.path)


def _needs_principal(dependant: Dependant) -> bool:
    """Whether the route reads a bearer token (required, or optional as on public reads)."""
    return any(
        d.call in (current_principal, optional_principal) or _needs_principal(d)
        for d in dependant.dependencies
    )


def authenticated_routes(app: FastAPI) -> list[Route]:
    """Every method and path of `app` that takes a bearer token (`CurrentPrincipal`, `OptionalPrincipal`)."""
    contexts: list[Any] = list(
        fastapi_routing.iter_route_contexts(app.routes)  # included routers are resolved lazily here
        if hasattr(fastapi_routing, "iter_route_contexts")
        else app.routes
    )
    routes: list[Route] = []
    for context in contexts:
        route = getattr(context, "route", context)
        if isinstance(route, APIRoute) and _needs_principal(route.dependant):
            methods = sorted(set(context.methods or ()) - {"HEAD", "OPTIONS"})
            routes.extend(Route(method, context.path) for method in methods)
    return routes


async def call(
    http: httpx.AsyncClient, route: Route, token: str, *, body: dict[str, Any] | None = None, **ids: str
) -> httpx.Response:
    """The route with a token, `ids` in its path (random UUIDs elsewhere), `body` or an empty object."""
    if body is None and route.method in ("POST", "PUT", "PATCH"):
        body = {}
    return await http.request(
        route.method, route.fill(**ids), json=body, headers={"Authorization": f"Bearer {token}"}
    )


async def until(check: Callable[[], Awaitable[bool]], *, within: float = 60.0, what: str) -> float:
    """Poll `check` (a look at the projection, never a sleep for the outcome); the seconds it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def projection_of(app: FastAPI) -> AccessProjection:
    projection: AccessProjection = app.state.principal_resolver
    return projection


async def client_status_is(app: FastAPI, client_id: str, status: str, *, what: str = "") -> float:
    projection = projection_of(app)

    async def seen() -> bool:
        return await projection.client_status(client_id) == status

    return await until(seen, what=what or f"client {client_id} {status} in the access projection")


async def role_is(app: FastAPI, user_id: str, org_id: str, role: str | None, *, what: str = "") -> float:
    projection = projection_of(app)
    user, org = UUID(user_id), UUID(org_id)

    async def seen() -> bool:
        return await projection.knows_membership(user, org) and await projection.role_of(user, org) == role

    return await until(seen, what=what or f"role {role} of {user_id} in the access projection")


class IdentityActions:
    """What an organization's admin does at identity that ends someone's access, over its public API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def client(self, org_id: str, admin_headers: dict[str, str], scopes: list[str]) -> tuple[str, str]:
        """A new API client of the organization and an access token with every one of its scopes."""
        created = await self.http.post(
            f"/v1/organizations/{org_id}/clients",
            json={"name": "Revocable", "scopes": scopes},
            headers=admin_headers,
        )
        assert created.status_code == 201, created.text
        client_id, secret = created.json()["client_id"], created.json()["client_secret"]
        token = await self.http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": " ".join(scopes),
            },
        )
        assert token.status_code == 200, token.text
        return client_id, str(token.json()["access_token"])

    async def revoke_client(self, org_id: str, admin_headers: dict[str, str], client_id: str) -> None:
        revoked = await self.http.delete(
            f"/v1/organizations/{org_id}/clients/{client_id}", headers=admin_headers
        )
        assert revoked.status_code == 204, revoked.text

    async def remove_member(self, org_id: str, admin_headers: dict[str, str], user_id: str) -> None:
        removed = await self.http.delete(
            f"/v1/organizations/{org_id}/members/{user_id}", headers=admin_headers
        )
        assert removed.status_code == 204, removed.text

    async def change_role(self, org_id: str, admin_headers: dict[str, str], user_id: str, role: str) -> None:
        changed = await self.http.patch(
            f"/v1/organizations/{org_id}/members/{user_id}", json={"role": role}, headers=admin_headers
        )
        assert changed.status_code == 200, changed.text


# ---- the sweep -------------------------------------------------------------------------------------------

Key = tuple[str, str]  # (method, route)


@dataclass(frozen=True)
class Call:
    """A valid request to one route (so that only the caller's access decides its answer)."""

    method: str
    path: str
    body: Any = None
    params: dict[str, str] | None = None

    async def send(self, http: httpx.AsyncClient, token: str) -> httpx.Response:
        return await http.request(
            self.method,
            self.path,
            params=self.params,
            json=self.body,
            headers={"Authorization": f"Bearer {token}"},
        )


@dataclass(frozen=True)
class Seen:
    """What one request got back."""

    status: int
    problem: bool
    text: str

    @classmethod
    def of(cls, response: httpx.Response, *, limit: int | None = 400) -> Seen:
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        return cls(response.status_code, problem, response.text[:limit])

    @property
    def allowed(self) -> bool:
        """Served (2xx): the request is valid, so the route exercised the caller's role and passed it."""
        return 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        return self.status in (403, 404) and self.problem


async def seen_all(http: httpx.AsyncClient, token: str, calls: Mapping[Key, Call]) -> dict[Key, Seen]:
    """Every call sent with `token`, one after another, and what each got back."""
    return {key: Seen.of(await c.send(http, token)) for key, c in calls.items()}


def swept_params(keys: Iterable[Key], gaps: Mapping[Key, str] | None = None) -> list[Any]:
    """pytest parameters of swept routes, sorted by path; a known gap is a strict xfail with its reason."""
    gaps = gaps or {}
    return [
        pytest.param(
            key,
            id=f"{key[0]} {key[1]}",
            marks=[pytest.mark.xfail(strict=True, reason=gaps[key])] if key in gaps else [],
        )
        for key in sorted(keys, key=lambda k: (k[1], k[0]))
    ]


def sibling_module(test_file: str, name: str, prefix: str) -> ModuleType:
    """The test module `name` beside `test_file`, loaded from its file (to reuse its route tables)."""
    path = Path(test_file).with_name(f"{name}.py")
    module_name = f"_{prefix}_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while it is being executed
    spec.loader.exec_module(module)
    return module
