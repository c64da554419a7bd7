"""Scopes mean what they say on the coalition service: reads need `coalitions:read`, changes
`coalitions:write` (which reads nothing), and accepting a data-sharing proposal is for the member
organization's admins in person, whatever scopes a client holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from coalition_world import CoalitionWorld, Org
from fastapi import FastAPI
from identity_api import IdentityApi, assert_problem, bearer

from scope_matrix import ALL, Call, Clients, check_cell, endpoints_of, matrix, routes_of, scoped_clients

COALITION = "/v1/coalitions/{coalition_id}"
MEMBERSHIP = COALITION + "/memberships/{org_id}"
PUBLIC = {"GET /v1/coalitions"}
USERS_ONLY = {f"POST {MEMBERSHIP}/sharing/accept"}
RESOURCE_IDS = frozenset({"coalition_id", "org_id"})


@dataclass(frozen=True)
class World:
    http: httpx.AsyncClient
    lead: Org
    member: Org
    coalition_id: str
    clients: Clients
    calls: dict[str, Call]


@pytest.fixture(scope="module")
async def world(
    identity_http: httpx.AsyncClient, coalition_http: httpx.AsyncClient, coalition_app: FastAPI
) -> World:
    cw = CoalitionWorld(IdentityApi(identity_http), coalition_http, coalition_app)
    lead, member = await cw.org("scoped-lead"), await cw.org("scoped-member")
    coalition = (await cw.coalition(lead, visibility="private"))["id"]
    to_archive = (await cw.coalition(lead, visibility="private"))["id"]
    to_join = (await cw.coalition(member, visibility="public"))["id"]
    await cw.member(coalition, lead, member)
    clients = await scoped_clients(identity_http, lead.id, lead.headers)
    nobody = str(uuid.uuid4())  # an organization without a membership: managing it is a 404
    own = Call({"coalition_id": coalition, "org_id": lead.id})
    other = Call({"coalition_id": coalition, "org_id": nobody})
    calls = {
        "POST /v1/coalitions": Call(
            {},
            body={
                "organization_id": lead.id,
                "slug": f"c-{uuid.uuid4().hex[:10]}",
                "name": "Made by a client",
                "mission": "Access to care for rare lung diseases",
                "focus_areas": ["rare lung disease"],
                "countries": ["BE"],
            },
        ),
        f"GET {COALITION}": own,
        f"GET {COALITION}/members": own,
        "GET /v1/organizations/{org_id}/coalitions": Call({"org_id": lead.id}),
        f"PATCH {COALITION}": Call({"coalition_id": coalition}, body={"name": "Renamed by a client"}),
        f"POST {COALITION}/archive": Call({"coalition_id": to_archive}),
        f"POST {COALITION}/invitations": Call(
            {"coalition_id": coalition}, body={"organization_id": nobody, "role": "member"}
        ),
        f"POST {COALITION}/applications": Call({"coalition_id": to_join}, body={"organization_id": lead.id}),
        f"POST {MEMBERSHIP}/accept": own,
        f"POST {MEMBERSHIP}/decline": own,
        f"POST {MEMBERSHIP}/leave": own,
        f"POST {MEMBERSHIP}/sharing/decline": own,
        f"PATCH {MEMBERSHIP}": Call(other.ids, body={"role": "member"}),
        f"PUT {MEMBERSHIP}/sharing": Call(other.ids, body={"level": "aggregate_only"}),
    }
    for endpoint in endpoints_of("coalition"):
        calls.setdefault(endpoint, other)
    return World(coalition_http, lead, member, coalition, clients, calls)


def test_every_route_is_public_users_only_or_in_the_scope_table(coalition_app: FastAPI) -> None:
    api = {r for r in routes_of(coalition_app) if r.split(" ", 1)[1].startswith("/v1/")}

    assert api == PUBLIC | USERS_ONLY | set(endpoints_of("coalition"))


@pytest.mark.parametrize(("endpoint", "held"), matrix("coalition"))
async def test_a_client_is_allowed_exactly_with_the_scope_the_table_names(
    world: World, endpoint: str, held: str
) -> None:
    await check_cell(
        world.http, endpoint, world.calls[endpoint], world.clients, held, resource_ids=RESOURCE_IDS
    )


@pytest.mark.parametrize("endpoint", sorted(USERS_ONLY))
async def test_a_client_with_every_scope_does_not_accept_a_sharing_proposal(
    world: World, endpoint: str
) -> None:
    method, route = endpoint.split(" ", 1)
    path = route.format(coalition_id=world.coalition_id, org_id=world.lead.id)

    response = await world.http.request(method, path, headers=bearer(world.clients.holding(ALL, "")))

    assert_problem(response, 403)
