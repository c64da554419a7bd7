"""Authorised before revealed: no answer tells a caller who may not see a private coalition that it exists.

Every route of the app that takes a path parameter is called twice per case, once with the ids of an
existing private coalition (and its memberships) and once with random ids, by callers who may not see
it (an outsider's admin, the outsider's API client with every coalition scope, anonymous) and by API
clients without the coalition scopes (the outsider's, and the lead organization's own). The two
answers must be the same: status, content type and problem body (its `instance` aside, which echoes
the path that was sent). A client without the scope gets the same 403 either way, since the scope is
checked before anything is looked up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from coalition_world import CoalitionWorld, Org
from fastapi import FastAPI
from identity_api import IdentityApi, bearer

from openapi_operations import routes

COALITION = "/v1/coalitions/{coalition_id}"
MEMBERSHIP = COALITION + "/memberships/{org_id}"

# Valid bodies, so that a refusal is about who asks and not about what was sent; `{own}` is the
# organization the caller acts for.
BODIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("PATCH", COALITION): [{"name": "Renamed", "visibility": "public"}],
    ("POST", COALITION + "/invitations"): [{"organization_id": "{own}", "role": "lead"}],
    ("POST", COALITION + "/applications"): [{"organization_id": "{own}"}],
    ("PATCH", MEMBERSHIP): [{"role": "lead"}],
    ("PUT", MEMBERSHIP + "/sharing"): [{"level": "contacts_with_consent"}, {"level": "aggregate_only"}],
}
OPTIONAL_BODIES = {
    (method, MEMBERSHIP + f"/{action}")
    for method in ("POST",)
    for action in ("approve", "reject", "suspend", "reinstate")
}


@dataclass(frozen=True)
class Caller:
    name: str
    headers: dict[str, str]
    own: str  # the organization it acts for


@dataclass
class Hidden:
    """A private coalition led by `lead` with `member`; `outsider` has nothing to do with it."""

    http: httpx.AsyncClient
    lead: Org
    member: Org
    outsider: Org
    coalition_id: str
    callers: list[Caller]


def path_routes(app: FastAPI) -> list[tuple[str, Any]]:
    """Every (method, route) of the app whose path takes a parameter."""
    return sorted(
        (
            (method, route)
            for route in routes(app)
            if getattr(route, "dependant", None) is not None and route.dependant.path_params
            for method in (route.methods or set()) - {"HEAD", "OPTIONS"}
        ),
        key=lambda pair: (pair[1].path, pair[0]),
    )


async def client_token(identity_http: httpx.AsyncClient, org: Org, scopes: list[str]) -> str:
    client = await identity_http.post(
        f"/v1/organizations/{org.id}/clients",
        json={"name": f"Integration {uuid.uuid4().hex[:6]}", "scopes": scopes},
        headers=org.headers,
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
    return str(token.json()["access_token"])


@pytest.fixture(scope="module")
async def hidden(
    identity_http: httpx.AsyncClient, coalition_http: httpx.AsyncClient, coalition_app: FastAPI
) -> Hidden:
    world = CoalitionWorld(IdentityApi(identity_http), coalition_http, coalition_app)
    lead, member, outsider = [await world.org(name) for name in ("lead", "member", "outsider")]
    coalition = await world.coalition(lead, visibility="private")
    await world.member(coalition["id"], lead, member)
    await world.set_sharing(coalition["id"], lead, member, "contacts_with_consent")
    every_scope = ["coalitions:read", "coalitions:write"]
    callers = [
        Caller("outsider", outsider.headers, outsider.id),
        Caller("anonymous", {}, outsider.id),
        Caller(
            "outsider's client", bearer(await client_token(identity_http, outsider, every_scope)), outsider.id
        ),
        Caller(
            "outsider's client without scopes",
            bearer(await client_token(identity_http, outsider, ["campaigns:read"])),
            outsider.id,
        ),
        Caller(
            "lead's client without scopes",
            bearer(await client_token(identity_http, lead, ["campaigns:read"])),
            lead.id,
        ),
    ]
    return Hidden(coalition_http, lead, member, outsider, coalition["id"], callers)


def answer(response: httpx.Response, ids: dict[str, str]) -> tuple[int, str, Any]:
    """What a caller learns from a response, with the ids it sent itself masked in the problem's
    `instance`."""
    body: Any = response.json() if response.content else None
    if isinstance(body, dict) and "instance" in body:
        instance = str(body["instance"])
        for name, value in ids.items():
            instance = instance.replace(value, "{" + name + "}")
        body = {**body, "instance": instance}
    return response.status_code, response.headers.get("content-type", ""), body


def guesses(hidden: Hidden, caller: Caller, route: Any) -> list[tuple[dict[str, str], dict[str, str]]]:
    """Pairs of (existing, random) path values for the route."""
    params = {p.name for p in route.dependant.path_params}
    random_coalition = str(uuid.uuid4())
    if params == {"org_id"}:  # an organization's coalitions: the member belongs only to the hidden one
        return [({"org_id": hidden.member.id}, {"org_id": str(uuid.uuid4())})]
    assert params <= {"coalition_id", "org_id"}, f"a path parameter this test does not know: {params}"
    if "org_id" not in params:
        return [({"coalition_id": hidden.coalition_id}, {"coalition_id": random_coalition})]
    return [
        (
            {"coalition_id": hidden.coalition_id, "org_id": org},
            {"coalition_id": random_coalition, "org_id": org},
        )
        for org in (hidden.lead.id, hidden.member.id, caller.own, str(uuid.uuid4()))
    ]


def test_every_route_with_a_body_has_a_valid_one(coalition_app: FastAPI) -> None:
    with_body = {(m, r.path) for m, r in path_routes(coalition_app) if r.body_field is not None}

    assert with_body == set(BODIES) | OPTIONAL_BODIES


async def snapshot(app: FastAPI, coalition_id: str) -> tuple[Any, list[Any]]:
    db = app.state.coalition.repo.db
    coalition = await db["coalitions"].find_one({"_id": uuid.UUID(coalition_id)})
    memberships = await db["memberships"].find({"coalition_id": uuid.UUID(coalition_id)}).to_list()
    return coalition, sorted(memberships, key=lambda m: str(m["org_id"]))


async def test_a_private_coalition_answers_like_a_random_id_on_every_route(
    hidden: Hidden, coalition_app: FastAPI
) -> None:
    before = await snapshot(coalition_app, hidden.coalition_id)
    differences: list[str] = []
    compared = 0
    for method, route in path_routes(coalition_app):
        bodies: list[dict[str, Any] | None] = list(BODIES.get((method, route.path), [])) or [None]
        for caller in hidden.callers:
            for existing, random in guesses(hidden, caller, route):
                for body in bodies:
                    sent = {k: (caller.own if v == "{own}" else v) for k, v in body.items()} if body else None
                    answers = []
                    for ids in (existing, random):
                        response = await hidden.http.request(
                            method, route.path.format(**ids), json=sent, headers=caller.headers
                        )
                        answers.append(answer(response, ids))
                    compared += 1
                    if answers[0] != answers[1]:
                        differences.append(f"{method} {route.path} {body} as {caller.name}: {answers}")
                    status, _, problem = answers[0]
                    if caller.name.endswith("without scopes") and (
                        status != 403 or "scope" not in problem.get("detail", "")
                    ):
                        differences.append(
                            f"{method} {route.path} as {caller.name}: {status}, not a scope 403"
                        )

    assert not differences, "\n".join(differences)
    assert compared >= 100
    assert await snapshot(coalition_app, hidden.coalition_id) == before
