"""Tenant isolation: a user of organization A can neither read nor change organization B's private data.

Every org-scoped private endpoint is listed once in a matrix; a guard test fails when the app grows a
route under /v1/organizations/{org_id} that the matrix does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from identity_api import IdentityApi, Person, assert_problem, bearer

from common.scopes import SCOPES

ORG = "/v1/organizations/{org_id}"
DEACTIVATE = "/v1/organizations/{org_id}/deactivate"
VERIFY = "/v1/organizations/{org_id}/verify"
MEMBERS = "/v1/organizations/{org_id}/members"
MEMBER = "/v1/organizations/{org_id}/members/{user_id}"
INVITATIONS = "/v1/organizations/{org_id}/invitations"
INVITATION = "/v1/organizations/{org_id}/invitations/{invitation_id}"
CLIENTS = "/v1/organizations/{org_id}/clients"
CLIENT = "/v1/organizations/{org_id}/clients/{client_id}"
DISCLOSURES = "/v1/organizations/{org_id}/disclosures"

# Org-scoped routes that are public on purpose: the profile is part of the directory.
PUBLIC_ORG_ROUTES = {("GET", ORG)}

ALL_CLIENT_SCOPES = [s.name for s in SCOPES]


@dataclass(frozen=True)
class Attempt:
    """One request against another organization's private data; `user` names whose membership is targeted."""

    method: str
    route: str
    body: dict[str, Any] | None = None
    user: str = "member"

    def path(self, org_id: str, world: Tenants) -> str:
        users = {"member": world.b_member.id, "owner": world.b_owner.id, "intruder": world.a_owner.id}
        return self.route.format(
            org_id=org_id,
            user_id=users[self.user],
            invitation_id=world.b_invitation["id"],
            client_id=world.b_client["client_id"],
        )


# What an outsider might try on B's own paths: each one is refused as forbidden.
ON_B = {
    "read members": Attempt("GET", MEMBERS),
    "promote a member": Attempt("PATCH", MEMBER, {"role": "admin"}),
    "demote the owner": Attempt("PATCH", MEMBER, {"role": "member"}, user="owner"),
    "make oneself owner": Attempt("PATCH", MEMBER, {"role": "owner"}, user="intruder"),
    "remove a member": Attempt("DELETE", MEMBER),
    "remove the owner": Attempt("DELETE", MEMBER, user="owner"),
    "invite someone": Attempt("POST", INVITATIONS, {"email": "intruder@example.org", "role": "owner"}),
    "read invitations": Attempt("GET", INVITATIONS),
    "revoke an invitation": Attempt("DELETE", INVITATION),
    "create an API client": Attempt("POST", CLIENTS, {"name": "Exfiltrator", "scopes": ["supporters:read"]}),
    "read API clients": Attempt("GET", CLIENTS),
    "revoke an API client": Attempt("DELETE", CLIENT),
    "update the profile": Attempt("PATCH", ORG, {"name": "Hijacked", "website": "https://evil.example"}),
    "deactivate": Attempt("POST", DEACTIVATE, {"reason": "hostile takeover"}),
    "verify": Attempt("POST", VERIFY),
    "declare funding": Attempt("PUT", DISCLOSURES, {"funders": [], "declared_at": None}),
    "read the funding declaration": Attempt("GET", DISCLOSURES),
}

# What an admin of A might try by passing B's resource ids under A's own path: B's ids are not found in A.
B_IDS_UNDER_A = {
    "promote B's member": Attempt("PATCH", MEMBER, {"role": "admin"}),
    "remove B's member": Attempt("DELETE", MEMBER),
    "remove B's owner": Attempt("DELETE", MEMBER, user="owner"),
    "revoke B's invitation": Attempt("DELETE", INVITATION),
    "revoke B's API client": Attempt("DELETE", CLIENT),
}


@dataclass
class Tenants:
    a_owner: Person
    a_org: dict[str, Any]
    a_client: dict[str, Any]
    b_owner: Person
    b_org: dict[str, Any]
    b_member: Person
    b_invitation: dict[str, Any]
    b_client: dict[str, Any]


@pytest.fixture
async def world(api: IdentityApi) -> Tenants:
    a_owner = await api.person("a-owner")
    a_org = await api.organization(a_owner, name="Organization A")
    a_client = await _create_client(api.http, a_org["id"], a_owner, scopes=ALL_CLIENT_SCOPES)
    b_owner = await api.person("b-owner")
    b_org = await api.organization(b_owner, name="Organization B")
    b_member = await api.add_member(b_org["id"], b_owner, role="member", name="b-member")
    invited = await api.http.post(
        f"/v1/organizations/{b_org['id']}/invitations",
        json={"email": "b-invitee@example.org", "role": "admin"},
        headers=b_owner.headers,
    )
    assert invited.status_code == 201, invited.text
    b_client = await _create_client(api.http, b_org["id"], b_owner, scopes=["organizations:read"])
    return Tenants(a_owner, a_org, a_client, b_owner, b_org, b_member, invited.json(), b_client)


async def _create_client(
    http: httpx.AsyncClient, org_id: str, admin: Person, *, scopes: list[str]
) -> dict[str, Any]:
    response = await http.post(
        f"/v1/organizations/{org_id}/clients",
        json={"name": "Integration", "scopes": scopes},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _client_token(http: httpx.AsyncClient, client: dict[str, Any]) -> str:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def _private_view(http: httpx.AsyncClient, world: Tenants) -> dict[str, Any]:
    """Everything B's owner can see of B: what no outsider's request may change."""
    base = f"/v1/organizations/{world.b_org['id']}"
    view: dict[str, Any] = {}
    for name, path in (
        ("profile", base),
        ("members", f"{base}/members"),
        ("invitations", f"{base}/invitations"),
        ("clients", f"{base}/clients"),
        ("disclosures", f"{base}/disclosures"),
    ):
        response = await http.get(path, headers=world.b_owner.headers)
        assert response.status_code == 200, response.text
        view[name] = response.json()
    return view


async def _send(http: httpx.AsyncClient, attempt: Attempt, path: str, token: str) -> httpx.Response:
    return await http.request(attempt.method, path, json=attempt.body, headers=bearer(token))


def _refused_without_leaking(response: httpx.Response, status: int, world: Tenants) -> None:
    assert_problem(response, status)
    for secret in (world.b_member.email, world.b_owner.email, world.b_invitation["email"]):
        assert secret not in response.text


def _org_scoped_routes(app: FastAPI) -> set[tuple[str, str]]:
    routes: list[Any] = list(
        fastapi_routing.iter_route_contexts(app.routes)
        if hasattr(fastapi_routing, "iter_route_contexts")
        else app.routes
    )
    return {
        (method, route.path)
        for route in routes
        if (route.path or "").startswith(ORG)
        for method in (route.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_org_scoped_route_is_in_the_isolation_matrix(identity_app: FastAPI) -> None:
    covered = {(a.method, a.route) for a in ON_B.values()}

    in_app = _org_scoped_routes(identity_app)

    assert in_app - PUBLIC_ORG_ROUTES == covered, (
        "org-scoped routes and the isolation matrix differ: add new routes to ON_B "
        "(or to PUBLIC_ORG_ROUTES if they are public by design)"
    )


@pytest.mark.parametrize("attempt", ON_B.values(), ids=ON_B.keys())
async def test_owner_of_another_organization_is_forbidden(
    http: httpx.AsyncClient, world: Tenants, attempt: Attempt
) -> None:
    before = await _private_view(http, world)

    response = await _send(http, attempt, attempt.path(world.b_org["id"], world), world.a_owner.token)

    _refused_without_leaking(response, 403, world)
    assert await _private_view(http, world) == before


@pytest.mark.parametrize("attempt", ON_B.values(), ids=ON_B.keys())
async def test_api_client_of_another_organization_is_forbidden(
    http: httpx.AsyncClient, world: Tenants, attempt: Attempt
) -> None:
    token = await _client_token(http, world.a_client)
    before = await _private_view(http, world)

    response = await _send(http, attempt, attempt.path(world.b_org["id"], world), token)

    _refused_without_leaking(response, 403, world)
    assert await _private_view(http, world) == before


@pytest.mark.parametrize("attempt", B_IDS_UNDER_A.values(), ids=B_IDS_UNDER_A.keys())
async def test_ids_of_another_organization_are_not_found_under_ones_own(
    http: httpx.AsyncClient, world: Tenants, attempt: Attempt
) -> None:
    before = await _private_view(http, world)

    response = await _send(http, attempt, attempt.path(world.a_org["id"], world), world.a_owner.token)

    _refused_without_leaking(response, 404, world)
    assert await _private_view(http, world) == before


@pytest.mark.parametrize("route", [INVITATIONS, CLIENTS], ids=["invitations", "API clients"])
async def test_plain_member_cannot_see_admin_only_lists(
    http: httpx.AsyncClient, world: Tenants, route: str
) -> None:
    response = await http.get(route.format(org_id=world.b_org["id"]), headers=world.b_member.headers)

    assert_problem(response, 403)
    assert world.b_invitation["email"] not in response.text
    assert world.b_client["client_id"] not in response.text


async def test_plain_member_sees_the_members(http: httpx.AsyncClient, world: Tenants) -> None:
    response = await http.get(MEMBERS.format(org_id=world.b_org["id"]), headers=world.b_member.headers)

    assert response.status_code == 200
    assert {(m["email"], m["role"]) for m in response.json()} == {
        (world.b_owner.email, "owner"),
        (world.b_member.email, "member"),
    }
