"""Test helpers for access revocation: the authenticated routes of an app, and waiting for the projection."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from common.access import AccessProjection
from common.auth import current_principal

PARAM = re.compile(r"\{([^}:]+)(:[^}]*)?\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    def fill(self, **ids: str) -> str:
        """The path with the given ids, and a random UUID for every other parameter."""
        return PARAM.sub(lambda m: ids.get(m.group(1), str(uuid.uuid4())), self.path)


def _needs_principal(dependant: Dependant) -> bool:
    return any(d.call is current_principal or _needs_principal(d) for d in dependant.dependencies)


def authenticated_routes(app: FastAPI) -> list[Route]:
    """Every method and path of `app` that requires a bearer token (`CurrentPrincipal`)."""
    routes = []
    for route in app.routes:
        if isinstance(route, APIRoute) and _needs_principal(route.dependant):
            routes.extend(Route(method, route.path) for method in sorted(route.methods))
    return routes


async def call(http: httpx.AsyncClient, route: Route, token: str, **ids: str) -> httpx.Response:
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
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
