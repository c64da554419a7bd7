"""Scopes mean what they say on the notifications service: every webhook endpoint needs `webhooks:manage`
(checked before the endpoint is looked up), and notices and preferences belong to people, not clients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from identity_api import assert_problem, bearer
from notifications_world import NotificationsWorld, Org

from scope_matrix import ALL, Call, Clients, check_cell, endpoints_of, matrix, routes_of, scoped_clients

WEBHOOK = "/v1/webhooks/{endpoint_id}"
NOBODY = "00000000-0000-4000-8000-000000000000"
USERS_ONLY = {
    "GET /v1/me/notices",
    "GET /v1/me/notices/unread-count",
    "POST /v1/me/notices/{notice_id}/read",
    "POST /v1/me/notices/read",
    "GET /v1/me/preferences",
    "PATCH /v1/me/preferences",
    f"POST {WEBHOOK}/confirm",  # an endpoint under review is confirmed by an owner or admin in person
    "GET /v1/sent-messages",  # mail kept as sent to decision-makers: the organization's managers in person
}
RESOURCE_IDS = frozenset({"endpoint_id", "message_id"})


@dataclass(frozen=True)
class World:
    nw: NotificationsWorld
    org: Org
    endpoint_id: str
    clients: Clients
    calls: dict[str, Call]


@pytest.fixture(scope="module")
async def world(world_for_module: NotificationsWorld) -> World:
    nw = world_for_module
    org = await nw.org("scoped")
    endpoint = (await nw.endpoint(org, "scoped"))["id"]
    doomed = (await nw.endpoint(org, "scoped-doomed"))["id"]
    clients = await scoped_clients(nw.identity.http, org.id, org.headers)
    on_endpoint = Call({"endpoint_id": endpoint})
    calls = {
        "POST /v1/organizations/{org_id}/webhooks": Call(
            {"org_id": org.id}, body={"url": nw.receiver.url("scoped-new"), "event_types": ["*"]}
        ),
        "GET /v1/organizations/{org_id}/webhooks": Call({"org_id": org.id}),
        f"PATCH {WEBHOOK}": Call({"endpoint_id": endpoint}, body={"description": "Changed by a client"}),
        f"DELETE {WEBHOOK}": Call({"endpoint_id": doomed}),
        f"POST {WEBHOOK}/replay": Call(
            {"endpoint_id": endpoint}, body={"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
        ),
    }
    for endpoint_path in endpoints_of("notifications"):
        if "{message_id}" in endpoint_path:
            calls.setdefault(endpoint_path, Call({"endpoint_id": endpoint, "message_id": NOBODY}))
        calls.setdefault(endpoint_path, on_endpoint)
    return World(nw, org, endpoint, clients, calls)


def test_every_route_is_for_users_only_or_in_the_scope_table(world: World) -> None:
    assert world.nw.stack.app is not None
    api = {r for r in routes_of(world.nw.stack.app) if r.split(" ", 1)[1].startswith("/v1/")}

    assert api == (USERS_ONLY & api) | set(endpoints_of("notifications"))


@pytest.mark.parametrize(("endpoint", "held"), matrix("notifications"))
async def test_a_client_is_allowed_exactly_with_the_scope_the_table_names(
    world: World, endpoint: str, held: str
) -> None:
    await check_cell(
        world.nw.http, endpoint, world.calls[endpoint], world.clients, held, resource_ids=RESOURCE_IDS
    )


@pytest.mark.parametrize("endpoint", sorted(USERS_ONLY))
async def test_a_client_with_every_scope_is_refused_where_only_people_act(
    world: World, endpoint: str
) -> None:
    method, route = endpoint.split(" ", 1)
    app = world.nw.stack.app
    assert app is not None
    if endpoint not in routes_of(app):
        pytest.skip(f"{endpoint} is not routed here")
    path = route.format(endpoint_id=world.endpoint_id, notice_id=NOBODY)
    if route == "/v1/sent-messages":
        path += f"?campaign_id={NOBODY}"
    body = {"categories": {}} if method == "PATCH" else None

    response = await world.nw.http.request(
        method, path, json=body, headers=bearer(world.clients.holding(ALL, ""))
    )

    assert_problem(response, 403)
