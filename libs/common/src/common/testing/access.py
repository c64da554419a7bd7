"""Test helpers for access revocation: the authenticated routes of an app, and waiting for the projection."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
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
