"""Scopes mean what they say on the campaigns service: each endpoint an API client may call needs exactly
the scope `common.scopes` names for it (contacts `supporters:read`, erasure `supporters:erase`), no other."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from advocacy_world import meeting_body, outcome_goal_body
from campaigns_world import DETAILS, CampaignsWorld, goal
from coalition_world import Org
from fastapi import FastAPI
from identity_api import IdentityApi
from targets_world import BRUSSELS, as_json, imported, target_csv

from scope_matrix import Call, Clients, check_cell, endpoints_of, matrix, routes_of, scoped_clients

RESOURCE_IDS = frozenset(
    {
        "campaign_id",
        "story_id",
        "supporter_id",
        "target_id",
        "delivery_id",
        "meeting_id",
        "goal_id",
        "coalition_id",
    }
)
PUBLIC_PREFIX = "/v1/public/"  # supporters' own endpoints: no token at all


@dataclass(frozen=True)
class World:
    http: httpx.AsyncClient
    owner: Org
    clients: Clients
    calls: dict[str, Call]


@pytest.fixture(scope="module")
async def world(
    identity_http: httpx.AsyncClient,
    coalition_http: httpx.AsyncClient,
    coalition_app: FastAPI,
    campaigns_http: httpx.AsyncClient,
    campaigns_app: FastAPI,
) -> World:
    cw = CampaignsWorld(
        IdentityApi(identity_http), coalition_http, coalition_app, campaigns_http, campaigns_app
    )
    owner = await cw.org("scoped")
    campaign = (await cw.campaign(owner, "petition"))["id"]
    clients = await scoped_clients(identity_http, owner.id, owner.headers)
    on_campaign = Call({"campaign_id": campaign})
    new_campaign = {
        "organization_id": owner.id,
        "kind": "petition",
        "title": "Drafted by an API client",
        "summary": "Diagnosis of rare diseases takes five years on average.",
        "details": DETAILS["petition"],
        "goal": goal("petition"),
    }
    story = Call({"campaign_id": campaign, "story_id": "00000000-0000-4000-8000-000000000000"})
    contacts = Call({"campaign_id": campaign}, params={"organization_id": owner.id})
    calls = {
        "POST /v1/campaigns": Call({}, body=new_campaign),
        "GET /v1/campaigns": Call({}, params={"organization_id": owner.id}),
        "PATCH /v1/campaigns/{campaign_id}": Call({"campaign_id": campaign}, body={"title": "Renamed"}),
        "POST /v1/campaigns/{campaign_id}/adoptions": Call(
            {"campaign_id": campaign}, body={"organization_id": owner.id}
        ),
        "DELETE /v1/campaigns/{campaign_id}/adoptions/{organization_id}": Call(
            {"campaign_id": campaign, "organization_id": owner.id}
        ),
        "GET /v1/campaigns/{campaign_id}/supporters": contacts,
        "GET /v1/campaigns/{campaign_id}/supporters.csv": contacts,
        "DELETE /v1/organizations/{organization_id}/supporters/{supporter_id}": Call(
            {"organization_id": owner.id, "supporter_id": "00000000-0000-4000-8000-000000000000"}
        ),
    }
    calls.update(await decision_maker_calls(cw, owner, campaign))
    absent = "00000000-0000-4000-8000-000000000000"
    sub_ids = {"meeting_id": absent, "goal_id": absent, "coalition_id": absent}
    for endpoint in endpoints_of("campaigns"):
        if endpoint not in calls:
            calls[endpoint] = story if "{story_id}" in endpoint else on_campaign
        if any(f"{{{name}}}" in endpoint for name in sub_ids):
            calls[endpoint] = Call({"campaign_id": campaign, **sub_ids})
    bodies = {
        "/meetings": meeting_body([absent]),
        "/report": {"outcome": "supportive"},
        "/outcome-goals": outcome_goal_body(),
        "/measurements": {"measured_on": "2026-01-01", "value": 1},
        "/verdict": {"verdict": "missed", "statement": "No change."},
        "/conflicts-of-interest": {"organization_id": owner.id, "statement": "None."},
        "/publication": {"published": True},
    }
    for endpoint, call in list(calls.items()):
        method, path = endpoint.split(" ", 1)
        for ending, body in bodies.items():
            if method in ("POST", "PUT") and path.endswith(ending) and call.body is None:
                calls[endpoint] = Call(call.ids, call.params, body)
    return World(campaigns_http, owner, clients, calls)


async def decision_maker_calls(cw: CampaignsWorld, owner: Org, campaign: str) -> dict[str, Call]:
    """Calls of the directory and delivery routes: a target of the owner, unknown deliveries."""
    (target,) = await imported(cw, owner, BRUSSELS[:1])
    on_target = Call({"target_id": target["id"]})
    delivery = Call({"campaign_id": campaign, "delivery_id": "00000000-0000-4000-8000-000000000000"})
    return {
        "GET /v1/targets": Call({}, params={"organization_id": owner.id}),
        "POST /v1/targets": Call({}, body={"organization_id": owner.id, **as_json(BRUSSELS[1])}),
        "POST /v1/target-imports": Call(
            {}, body={"organization_id": owner.id, "csv": target_csv(BRUSSELS[2:3])}
        ),
        "GET /v1/targets/{target_id}": on_target,
        "GET /v1/targets/{target_id}/versions": on_target,
        "PATCH /v1/targets/{target_id}": Call({"target_id": target["id"]}, body={"office": "Town hall"}),
        "DELETE /v1/targets/{target_id}": on_target,
        "POST /v1/campaigns/{campaign_id}/petition-deliveries": Call(
            {"campaign_id": campaign}, body={"method": "download"}
        ),
        "GET /v1/campaigns/{campaign_id}/petition-deliveries/{delivery_id}/pdf": delivery,
        "GET /v1/campaigns/{campaign_id}/petition-deliveries/{delivery_id}/csv": delivery,
    }


def test_every_route_is_public_or_in_the_scope_table(campaigns_app: FastAPI) -> None:
    paths = {r: r.split(" ", 1)[1] for r in routes_of(campaigns_app)}
    private = {
        r for r, path in paths.items() if path.startswith("/v1/") and not path.startswith(PUBLIC_PREFIX)
    }

    assert private == set(endpoints_of("campaigns"))


@pytest.mark.parametrize(("endpoint", "held"), matrix("campaigns"))
async def test_a_client_is_allowed_exactly_with_the_scope_the_table_names(
    world: World, endpoint: str, held: str
) -> None:
    await check_cell(
        world.http, endpoint, world.calls[endpoint], world.clients, held, resource_ids=RESOURCE_IDS
    )


@pytest.mark.parametrize(
    "endpoint",
    ["GET /v1/campaigns/{campaign_id}/supporters", "GET /v1/campaigns/{campaign_id}/supporters.csv"],
)
async def test_contacts_need_supporters_read_not_campaigns_write(world: World, endpoint: str) -> None:
    write_only = world.clients.only["campaigns:write"]
    method, path = world.calls[endpoint].path(endpoint)

    response = await world.http.request(
        method, path, params=world.calls[endpoint].params, headers={"Authorization": f"Bearer {write_only}"}
    )

    assert response.status_code == 403, response.text
    assert response.json()["required_scope"] == "supporters:read"
