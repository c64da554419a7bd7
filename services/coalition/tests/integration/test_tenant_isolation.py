"""Tenant isolation: nobody outside a coalition sees a private one, its members or its agreements, and
only admins of a lead organization manage a coalition.

Every route of the API is listed once below (what a lead manages, what an organization does for itself,
what anyone reads, and the lists); a guard test fails when the app grows a route the lists do not cover.

The statuses follow the service: a private coalition is a 404 to outsiders (its existence is not
revealed), a public one is a 403 to anyone who may see it but not manage it, and acting for an
organization one does not administer is a 403 before the coalition is even looked at.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from coalition_world import CoalitionWorld, Org
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from identity_api import IdentityApi, Person, assert_problem, bearer

COALITION = "/v1/coalitions/{coalition_id}"
MEMBERSHIP = "/v1/coalitions/{coalition_id}/memberships/{org_id}"


@dataclass(frozen=True)
class Attempt:
    """One request; `{coalition_id}` and `{org_id}` are filled in per test, `{invitee}` in the body too."""

    method: str
    route: str
    body: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.route

    def request(self, coalition_id: str, org_id: str, invitee: str) -> tuple[str, str, Any]:
        body = {k: (invitee if v == "{invitee}" else v) for k, v in (self.body or {}).items()}
        path = self.route.format(coalition_id=coalition_id, org_id=org_id)
        return self.method, path, body if self.body is not None else None


# What only admins of a lead organization do; `{org_id}` is the coalition's lead (the juiciest target).
MANAGE = {
    "update the profile": Attempt("PATCH", COALITION, {"name": "Hijacked", "visibility": "public"}),
    "archive": Attempt("POST", COALITION + "/archive"),
    "invite": Attempt("POST", COALITION + "/invitations", {"organization_id": "{invitee}", "role": "lead"}),
    "approve": Attempt("POST", MEMBERSHIP + "/approve", {"reason": "x"}),
    "reject": Attempt("POST", MEMBERSHIP + "/reject", {"reason": "x"}),
    "suspend": Attempt("POST", MEMBERSHIP + "/suspend", {"reason": "x"}),
    "reinstate": Attempt("POST", MEMBERSHIP + "/reinstate"),
    "change a role": Attempt("PATCH", MEMBERSHIP, {"role": "observer"}),
    "remove": Attempt("DELETE", MEMBERSHIP),
    "change a sharing agreement": Attempt("PUT", MEMBERSHIP + "/sharing", {"level": "contacts_with_consent"}),
}
# What an organization does for itself; `{org_id}` is the acting organization (or, to test that one
# cannot act for others, somebody else's).
FOR_ITSELF = {
    "apply": Attempt("POST", COALITION + "/applications", {"organization_id": "{invitee}"}),
    "accept": Attempt("POST", MEMBERSHIP + "/accept"),
    "decline": Attempt("POST", MEMBERSHIP + "/decline"),
    "leave": Attempt("POST", MEMBERSHIP + "/leave"),
    "accept a sharing proposal": Attempt("POST", MEMBERSHIP + "/sharing/accept"),
    "decline a sharing proposal": Attempt("POST", MEMBERSHIP + "/sharing/decline"),
}
READ = {
    "profile": Attempt("GET", COALITION),
    "members": Attempt("GET", COALITION + "/members"),
}
# Routes that are not about one coalition; each has its own test below.
LISTS = {
    ("POST", "/v1/coalitions"),
    ("GET", "/v1/coalitions"),
    ("GET", "/v1/organizations/{org_id}/coalitions"),
}


@dataclass
class Tenants:
    """A private and a public coalition led by `lead`, with members of every kind, and outsiders."""

    world: CoalitionWorld
    lead: Org
    member: Org
    observer: Org
    invitee: Org  # invited to the private coalition, not answered
    applicant: Org  # applied to the public coalition, not decided
    outsider: Org
    outsider_client: str  # an access token of the outsider's API client with every coalition scope
    platform_admin: Person
    private: dict[str, Any]
    public: dict[str, Any]

    @property
    def http(self) -> httpx.AsyncClient:
        return self.world.http

    def coalition(self, visibility: str) -> dict[str, Any]:
        return self.private if visibility == "private" else self.public


@pytest.fixture(scope="module")
async def tenants(
    identity_http: httpx.AsyncClient, coalition_http: httpx.AsyncClient, coalition_app: FastAPI
) -> Tenants:
    world = CoalitionWorld(IdentityApi(identity_http), coalition_http, coalition_app)
    lead, member, observer, invitee, applicant, outsider = [
        await world.org(name) for name in ("lead", "member", "observer", "invitee", "applicant", "outsider")
    ]
    secret = uuid.uuid4().hex[:8]
    private = await world.coalition(
        lead,
        visibility="private",
        name=f"Secret Alliance {secret}",
        mission=f"Confidential mission {secret}",
        focus_areas=[f"secret-{secret}"],
    )
    public = await world.coalition(lead, name=f"Open Alliance {secret}")
    for coalition in (private, public):
        await world.member(coalition["id"], lead, member, role="member")
        await world.member(coalition["id"], lead, observer, role="observer")
    invited = await world.invite(private["id"], lead, invitee)
    applied = await world.post(
        f"/v1/coalitions/{public['id']}/applications", applicant, {"organization_id": applicant.id}
    )
    assert invited.status_code == applied.status_code == 201, (invited.text, applied.text)
    client = await identity_http.post(
        f"/v1/organizations/{outsider.id}/clients",
        json={"name": "Integration", "scopes": ["coalitions:read", "coalitions:write"]},
        headers=outsider.headers,
    )
    assert client.status_code == 201, client.text
    token = await identity_http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.json()["client_id"],
            "client_secret": client.json()["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    admin_tokens = await world.identity.login("coalition-admin@example.org", "Violet-Kettle-Orbit-42")
    me = await identity_http.get("/v1/users/me", headers=bearer(admin_tokens["access_token"]))
    platform_admin = Person(
        me.json()["id"],
        "coalition-admin@example.org",
        "Violet-Kettle-Orbit-42",
        admin_tokens["access_token"],
        admin_tokens["refresh_token"],
    )
    return Tenants(
        world,
        lead,
        member,
        observer,
        invitee,
        applicant,
        outsider,
        token.json()["access_token"],
        platform_admin,
        private,
        public,
    )


async def snapshot(tenants: Tenants, coalition_id: str) -> tuple[Any, list[Any]]:
    """The coalition and its memberships as stored: what no refused request may change."""
    db = tenants.world.app.state.coalition.repo.db
    coalition = await db["coalitions"].find_one({"_id": uuid.UUID(coalition_id)})
    memberships = await db["memberships"].find({"coalition_id": uuid.UUID(coalition_id)}).to_list()
    return coalition, sorted(memberships, key=lambda m: str(m["org_id"]))


def refused_without_leaking(response: httpx.Response, status: int, tenants: Tenants) -> None:
    """The right problem, with nothing of the private coalition in it beyond what the caller sent."""
    assert_problem(response, status)
    sent = str(response.request.url)
    for secret in (
        tenants.private["name"],
        tenants.private["slug"],
        tenants.private["mission"],
        tenants.private["focus_areas"][0],
        tenants.member.id,
        tenants.observer.id,
    ):
        assert secret in sent or secret not in response.text


async def send(
    tenants: Tenants, attempt: Attempt, coalition_id: str, org_id: str, headers: dict[str, str]
) -> httpx.Response:
    method, path, body = attempt.request(coalition_id, org_id, invitee=tenants.outsider.id)
    return await tenants.http.request(method, path, json=body, headers=headers)


def _v1_routes(app: FastAPI) -> set[tuple[str, str]]:
    routes: list[Any] = list(
        fastapi_routing.iter_route_contexts(app.routes)
        if hasattr(fastapi_routing, "iter_route_contexts")
        else app.routes
    )
    return {
        (method, route.path)
        for route in routes
        if (getattr(route, "path", "") or "").startswith("/v1/")
        for method in (route.methods or set()) - {"HEAD", "OPTIONS"}
    }


# ---- the guard ----------------------------------------------------------------------------------------


def test_every_route_has_an_isolation_case(coalition_app: FastAPI) -> None:
    covered = {a.key for group in (MANAGE, FOR_ITSELF, READ) for a in group.values()} | LISTS

    assert _v1_routes(coalition_app) == covered, (
        "the routes and the isolation cases differ: add the new route to MANAGE, FOR_ITSELF, READ or LISTS"
    )


# ---- managing a coalition -----------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", MANAGE.values(), ids=MANAGE.keys())
async def test_an_outsider_cannot_manage_a_private_coalition_nor_learn_it_exists(
    tenants: Tenants, attempt: Attempt
) -> None:
    coalition = tenants.private["id"]
    before = await snapshot(tenants, coalition)

    response = await send(tenants, attempt, coalition, tenants.lead.id, tenants.outsider.headers)

    refused_without_leaking(response, 404, tenants)
    assert await snapshot(tenants, coalition) == before


@pytest.mark.parametrize("attempt", MANAGE.values(), ids=MANAGE.keys())
async def test_an_outsider_cannot_manage_a_public_coalition(tenants: Tenants, attempt: Attempt) -> None:
    coalition = tenants.public["id"]
    before = await snapshot(tenants, coalition)

    response = await send(tenants, attempt, coalition, tenants.lead.id, tenants.outsider.headers)

    assert_problem(response, 403)
    assert await snapshot(tenants, coalition) == before


@pytest.mark.parametrize("visibility", ["private", "public"])
@pytest.mark.parametrize("attempt", MANAGE.values(), ids=MANAGE.keys())
async def test_an_outsiders_api_client_cannot_manage_a_coalition(
    tenants: Tenants, attempt: Attempt, visibility: str
) -> None:
    coalition = tenants.coalition(visibility)["id"]
    before = await snapshot(tenants, coalition)

    response = await send(tenants, attempt, coalition, tenants.lead.id, bearer(tenants.outsider_client))

    refused_without_leaking(response, 404 if visibility == "private" else 403, tenants)
    assert await snapshot(tenants, coalition) == before


@pytest.mark.parametrize("visibility", ["private", "public"])
@pytest.mark.parametrize("attempt", MANAGE.values(), ids=MANAGE.keys())
@pytest.mark.parametrize("role", ["member", "observer"])
async def test_a_member_or_observer_organization_cannot_manage_its_coalition(
    tenants: Tenants, attempt: Attempt, visibility: str, role: str
) -> None:
    coalition = tenants.coalition(visibility)["id"]
    actor = tenants.member if role == "member" else tenants.observer
    before = await snapshot(tenants, coalition)

    response = await send(tenants, attempt, coalition, tenants.lead.id, actor.headers)

    body = assert_problem(response, 403)
    assert "lead" in body["detail"]
    assert await snapshot(tenants, coalition) == before


async def test_a_non_admin_of_the_lead_organization_cannot_manage(tenants: Tenants) -> None:
    colleague = await tenants.world.identity.add_member(tenants.lead.id, tenants.lead.admin, role="organizer")
    coalition = tenants.private["id"]
    before = await snapshot(tenants, coalition)

    responses = {
        name: await send(tenants, attempt, coalition, tenants.member.id, colleague.headers)
        for name, attempt in MANAGE.items()
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(MANAGE, 403)
    assert await snapshot(tenants, coalition) == before


# ---- acting for an organization -------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", FOR_ITSELF.values(), ids=FOR_ITSELF.keys())
async def test_an_outsider_acting_for_itself_does_not_find_a_private_coalition(
    tenants: Tenants, attempt: Attempt
) -> None:
    coalition = tenants.private["id"]
    before = await snapshot(tenants, coalition)

    response = await send(tenants, attempt, coalition, tenants.outsider.id, tenants.outsider.headers)

    refused_without_leaking(response, 404, tenants)
    assert await snapshot(tenants, coalition) == before


@pytest.mark.parametrize("visibility", ["private", "public"])
@pytest.mark.parametrize("attempt", FOR_ITSELF.values(), ids=FOR_ITSELF.keys())
async def test_nobody_acts_for_an_organization_it_does_not_administer(
    tenants: Tenants, attempt: Attempt, visibility: str
) -> None:
    coalition = tenants.coalition(visibility)["id"]
    victim = tenants.invitee if visibility == "private" else tenants.member
    before = await snapshot(tenants, coalition)
    method, path, body = attempt.request(coalition, victim.id, invitee=victim.id)

    by_lead = await tenants.http.request(method, path, json=body, headers=tenants.lead.headers)
    by_outsider = await tenants.http.request(method, path, json=body, headers=tenants.outsider.headers)

    assert_problem(by_lead, 403)
    refused_without_leaking(by_outsider, 403, tenants)
    assert await snapshot(tenants, coalition) == before


# ---- reading -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "outsider's API client", "anonymous"])
@pytest.mark.parametrize("attempt", READ.values(), ids=READ.keys())
async def test_a_private_coalition_and_its_members_are_not_found_by_outsiders(
    tenants: Tenants, attempt: Attempt, who: str
) -> None:
    headers = {
        "outsider": tenants.outsider.headers,
        "outsider's API client": bearer(tenants.outsider_client),
        "anonymous": {},
    }[who]

    response = await send(tenants, attempt, tenants.private["id"], tenants.lead.id, headers)

    refused_without_leaking(response, 404, tenants)


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
async def test_a_public_coalitions_profile_is_public_but_its_members_are_not(
    tenants: Tenants, who: str
) -> None:
    headers = tenants.outsider.headers if who == "outsider" else {}
    coalition = tenants.public["id"]

    profile = await tenants.http.get(f"/v1/coalitions/{coalition}", headers=headers)
    members = await tenants.http.get(f"/v1/coalitions/{coalition}/members", headers=headers)

    assert profile.status_code == 200, profile.text
    assert profile.json()["name"] == tenants.public["name"]
    assert_problem(members, 403)
    assert tenants.member.id not in members.text


async def test_an_invited_organization_sees_the_private_profile_but_not_the_members(
    tenants: Tenants,
) -> None:
    coalition = tenants.private["id"]

    profile = await tenants.http.get(f"/v1/coalitions/{coalition}", headers=tenants.invitee.headers)
    members = await tenants.http.get(f"/v1/coalitions/{coalition}/members", headers=tenants.invitee.headers)

    assert profile.status_code == 200, profile.text
    assert_problem(members, 403)
    assert tenants.member.id not in members.text


async def test_an_observer_reads_the_private_members_but_not_their_agreements(tenants: Tenants) -> None:
    response = await tenants.http.get(
        f"/v1/coalitions/{tenants.private['id']}/members", headers=tenants.observer.headers
    )

    assert response.status_code == 200, response.text
    assert {m["organization_id"] for m in response.json()} == {
        tenants.lead.id,
        tenants.member.id,
        tenants.observer.id,
    }
    assert {m["sharing_level"] for m in response.json()} == {None}


async def test_a_member_reads_the_private_members_and_their_agreements(tenants: Tenants) -> None:
    response = await tenants.http.get(
        f"/v1/coalitions/{tenants.private['id']}/members", headers=tenants.member.headers
    )

    assert response.status_code == 200, response.text
    assert {m["sharing_level"] for m in response.json()} == {"aggregate_only"}
    assert tenants.invitee.id not in {m["organization_id"] for m in response.json()}


async def test_a_platform_admin_sees_a_private_coalition_its_members_and_agreements(
    tenants: Tenants,
) -> None:
    coalition = tenants.private["id"]
    headers = tenants.platform_admin.headers

    profile = await tenants.http.get(f"/v1/coalitions/{coalition}", headers=headers)
    members = await tenants.http.get(f"/v1/coalitions/{coalition}/members", headers=headers)
    of_lead = await tenants.http.get(f"/v1/organizations/{tenants.lead.id}/coalitions", headers=headers)

    assert profile.status_code == 200, profile.text
    assert profile.json()["name"] == tenants.private["name"]
    assert {m["organization_id"]: (m["state"], m["sharing_level"]) for m in members.json()} == {
        tenants.lead.id: ("active", "aggregate_only"),
        tenants.member.id: ("active", "aggregate_only"),
        tenants.observer.id: ("active", "aggregate_only"),
        tenants.invitee.id: ("invited", "aggregate_only"),
    }
    assert coalition in {c["coalition"]["id"] for c in of_lead.json()}


# ---- the lists --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "member", "anonymous"])
async def test_the_directory_never_lists_a_private_coalition(tenants: Tenants, who: str) -> None:
    headers = {"outsider": tenants.outsider.headers, "member": tenants.member.headers, "anonymous": {}}[who]
    secret_tag = tenants.private["focus_areas"][0]

    by_focus = await tenants.http.get("/v1/coalitions", params={"focus_area": secret_tag}, headers=headers)
    by_text = await tenants.http.get("/v1/coalitions", params={"q": "Secret Alliance"}, headers=headers)

    assert by_focus.json()["items"] == []
    assert tenants.private["id"] not in {c["id"] for c in by_text.json()["items"]}


@pytest.mark.parametrize("whose", ["lead", "member", "observer", "invitee"])
async def test_an_outsider_does_not_see_the_private_coalitions_of_an_organization(
    tenants: Tenants, whose: str
) -> None:
    org: Org = getattr(tenants, whose)

    response = await tenants.http.get(
        f"/v1/organizations/{org.id}/coalitions", headers=tenants.outsider.headers
    )

    assert response.status_code == 200, response.text
    assert tenants.private["id"] not in {c["coalition"]["id"] for c in response.json()}
    assert tenants.private["name"] not in response.text


async def test_an_organizations_own_people_see_its_private_coalitions(tenants: Tenants) -> None:
    response = await tenants.http.get(
        f"/v1/organizations/{tenants.member.id}/coalitions", headers=tenants.member.headers
    )

    assert {c["coalition"]["id"] for c in response.json()} == {tenants.private["id"], tenants.public["id"]}


async def test_nobody_creates_a_coalition_for_an_organization_it_does_not_administer(
    tenants: Tenants,
) -> None:
    body = {
        "organization_id": tenants.lead.id,
        "slug": f"c-{uuid.uuid4().hex[:10]}",
        "name": "Impostor Alliance",
        "mission": "Speaking for others",
    }

    by_outsider = await tenants.http.post("/v1/coalitions", json=body, headers=tenants.outsider.headers)
    by_member = await tenants.http.post("/v1/coalitions", json=body, headers=tenants.member.headers)
    by_client = await tenants.http.post("/v1/coalitions", json=body, headers=bearer(tenants.outsider_client))

    for response in (by_outsider, by_member, by_client):
        assert_problem(response, 403)
    directory = await tenants.http.get("/v1/coalitions", params={"q": "Impostor Alliance"})
    assert directory.json()["items"] == []
