"""Scopes mean what they say on the identity service: `organizations:read` lets an API client read its own
organization's members; every other management endpoint is for signed-in users only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from identity_api import IdentityApi, Person, assert_problem, bearer

from common.scopes import ORGANIZATIONS_READ
from scope_matrix import ALL, Call, Clients, check_cell, endpoints_of, matrix, routes_of, scoped_clients

ORG = "/v1/organizations/{org_id}"
PUBLIC = {
    "POST /v1/users",
    "POST /v1/users/email-verification/confirm",
    "GET /v1/organizations",
    f"GET {ORG}",
}
USERS_ONLY = {
    "GET /v1/users/me",
    "PATCH /v1/users/me",
    "POST /v1/users/me/password",
    "POST /v1/users/me/email-verification",
    "POST /v1/organizations",
    f"PATCH {ORG}",
    f"POST {ORG}/deactivate",
    f"POST {ORG}/verify",
    f"PATCH {ORG}/members/{{user_id}}",
    f"DELETE {ORG}/members/{{user_id}}",
    f"POST {ORG}/invitations",
    f"GET {ORG}/invitations",
    f"DELETE {ORG}/invitations/{{invitation_id}}",
    f"POST {ORG}/clients",
    f"GET {ORG}/clients",
    f"DELETE {ORG}/clients/{{client_id}}",
    f"PUT {ORG}/disclosures",  # an organization's declaration is made by its owners and admins in person
    "POST /v1/invitations/accept",
    "POST /v1/admin/signing-keys/rotate",
}
BODIES: dict[str, Any] = {
    f"PATCH {ORG}": {"name": "Taken over"},
    f"PUT {ORG}/disclosures": {"funders": []},
    f"PATCH {ORG}/members/{{user_id}}": {"role": "admin"},
    f"POST {ORG}/invitations": {"email": "someone@example.org", "role": "owner"},
    f"POST {ORG}/clients": {"name": "Spawned", "scopes": [ORGANIZATIONS_READ]},
    "POST /v1/invitations/accept": {"token": "x" * 43},
    "PATCH /v1/users/me": {"display_name": "Client"},
    "POST /v1/users/me/password": {"current_password": "x" * 12, "new_password": "y" * 16},
    "POST /v1/organizations": {
        "slug": "client-made",
        "name": "Client Made",
        "kind": "other",
        "country": "DE",
    },
}


@dataclass(frozen=True)
class World:
    owner: Person
    org_id: str
    member: Person
    clients: Clients


@pytest.fixture(scope="module")
async def world(http: httpx.AsyncClient) -> World:
    api = IdentityApi(http)
    owner = await api.person("scoped-owner")
    org = await api.organization(owner, name="Scoped Association")
    member = await api.add_member(org["id"], owner, role="member", name="scoped-member")
    return World(owner, org["id"], member, await scoped_clients(http, org["id"], owner.headers))


def test_every_route_is_public_users_only_or_in_the_scope_table(identity_app: FastAPI) -> None:
    api = {r for r in routes_of(identity_app) if r.split(" ", 1)[1].startswith("/v1/")}

    assert api == PUBLIC | USERS_ONLY | set(endpoints_of("identity"))


@pytest.mark.parametrize(("endpoint", "held"), matrix("identity"))
async def test_a_client_is_allowed_exactly_with_the_scope_the_table_names(
    http: httpx.AsyncClient, world: World, endpoint: str, held: str
) -> None:
    call = Call({"org_id": world.org_id})

    await check_cell(http, endpoint, call, world.clients, held, resource_ids=frozenset({"org_id"}))


@pytest.mark.parametrize("endpoint", sorted(USERS_ONLY))
async def test_a_client_with_every_scope_is_refused_where_only_users_may_act(
    http: httpx.AsyncClient, world: World, endpoint: str
) -> None:
    method, route = endpoint.split(" ", 1)
    path = route.format(
        org_id=world.org_id, user_id=world.member.id, invitation_id=world.org_id, client_id="cli_x"
    )

    response = await http.request(
        method, path, json=BODIES.get(endpoint), headers=bearer(world.clients.holding(ALL, ""))
    )

    assert_problem(response, 403)


async def test_a_client_with_organizations_read_sees_its_own_members(
    http: httpx.AsyncClient, world: World
) -> None:
    response = await http.get(
        f"/v1/organizations/{world.org_id}/members", headers=bearer(world.clients.only[ORGANIZATIONS_READ])
    )

    assert response.status_code == 200, response.text
    assert {(m["email"], m["role"]) for m in response.json()} == {
        (world.owner.email, "owner"),
        (world.member.email, "member"),
    }


async def test_a_client_does_not_read_another_organizations_members(
    http: httpx.AsyncClient, world: World
) -> None:
    api = IdentityApi(http)
    other_owner = await api.person("other-owner")
    other = await api.organization(other_owner, name="Other Association")

    response = await http.get(f"/v1/organizations/{other['id']}/members", headers=bearer(world.clients.every))

    assert_problem(response, 403)
    assert other_owner.email not in response.text


async def test_a_revoked_client_no_longer_reads_the_members(http: httpx.AsyncClient, world: World) -> None:
    created = await http.post(
        f"/v1/organizations/{world.org_id}/clients",
        json={"name": "Soon revoked", "scopes": [ORGANIZATIONS_READ]},
        headers=world.owner.headers,
    )
    assert created.status_code == 201, created.text
    client = created.json()
    token = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    members = f"/v1/organizations/{world.org_id}/members"
    assert (await http.get(members, headers=bearer(token.json()["access_token"]))).status_code == 200

    revoked = await http.delete(
        f"/v1/organizations/{world.org_id}/clients/{client['client_id']}", headers=world.owner.headers
    )
    assert revoked.status_code == 204, revoked.text

    response = await http.get(members, headers=bearer(token.json()["access_token"]))
    assert_problem(response, 403)
    assert world.member.email not in response.text
