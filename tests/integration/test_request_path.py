"""What every request of every service runs: no dependency or endpoint that FastAPI hands to its thread pool.

A plain `def` dependency or endpoint is run in a worker thread on every request (a hand-off to the pool and
back, and the GIL between them); for the one-line dependencies that fetch a service object from the app's
state it was most of their cost (seen in the profile of `make bench`). Work that must not block the loop
(rendering a PDF or a chart) runs in its own thread explicitly, not by being declared `def`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant

from campaigns.app import create_app as create_campaigns
from campaigns.config import Settings as CampaignsSettings
from coalition.app import create_app as create_coalition
from coalition.config import Settings as CoalitionSettings
from common.runtime import Role
from identity.app import create_app as create_identity
from identity.config import Settings as IdentitySettings
from notifications.app import create_app as create_notifications
from notifications.config import Settings as NotificationsSettings

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "identity": lambda: create_identity(IdentitySettings(environment="test"), role=Role.API),
    "coalition": lambda: create_coalition(CoalitionSettings(environment="test"), role=Role.API),
    "campaigns": lambda: create_campaigns(CampaignsSettings(environment="test"), role=Role.API),
    "notifications": lambda: create_notifications(NotificationsSettings(environment="test"), role=Role.API),
}


def _runs_on_the_loop(call: Any) -> bool:
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004 - a callable instance
    )


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _threaded(app: FastAPI) -> set[str]:
    routes: list[Any] = list(
        fastapi_routing.iter_route_contexts(app.routes)
        if hasattr(fastapi_routing, "iter_route_contexts")
        else app.routes
    )
    found: set[str] = set()
    for route in routes:
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        calls = (
            [dependant.call, *_calls(dependant)] if dependant.call is not None else list(_calls(dependant))
        )
        for call in calls:
            if not _runs_on_the_loop(call):
                found.add(
                    f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', call)} ({route.path})"
                )
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_no_dependency_or_endpoint_runs_in_the_thread_pool(service: str) -> None:
    app = SERVICES[service]()

    assert _threaded(app) == set(), "declare these `async def` (they do no blocking work)"


def test_the_check_sees_a_plain_def_dependency() -> None:
    from fastapi import Depends, Request

    def plain(request: Request) -> str:
        return "x"

    app = FastAPI()

    @app.get("/x")
    async def route(value: str = Depends(plain)) -> str:
        return value

    assert _threaded(app) == {f"{__name__}.test_the_check_sees_a_plain_def_dependency.<locals>.plain (/x)"}
