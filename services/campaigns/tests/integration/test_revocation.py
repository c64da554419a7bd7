"""Access ends when it is revoked: a token issued before its API client was revoked, or before its user
was removed from the organization or demoted, is refused once the campaigns service has consumed the
event, on every authenticated route; not when the token expires."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from advocacy_world import COALITION_READS, STAGES, stage_coalition
from campaigns_world import DETAILS, CampaignsWorld, goal
from coalition_world import Org
from fastapi import FastAPI
from identity_api import IdentityApi
from targets_world import BRUSSELS, as_json, imported, target_csv

from common.testing.access import (
    Call,
    IdentityActions,
    Seen,
    authenticated_routes,
    call,
    client_status_is,
    role_is,
    seen_all,
    sibling_module,
    swept_params,
)

log = logging.getLogger(__name__)
SCOPES = ["campaigns:read", "campaigns:write"]


async def test_a_revoked_client_is_refused_on_every_route(cw: CampaignsWorld) -> None:
    org = await cw.org("revoking")
    actions = IdentityActions(cw.identity.http)
    client_id, token = await actions.client(org.id, org.headers, SCOPES)
    await client_status_is(cw.campaigns_app, client_id, "active")
    campaign = await cw.campaign(org)
    ids = {"campaign_id": campaign["id"], "organization_id": org.id}
    routes = authenticated_routes(cw.campaigns_app)
    assert routes
    for route in routes:
        before = await call(cw.campaigns, route, token, **ids)
        assert before.status_code != 401, (route, before.text)

    await actions.revoke_client(org.id, org.headers, client_id)
    took = await client_status_is(cw.campaigns_app, client_id, "revoked")
    log.warning("campaigns: the client's revocation was consumed %.3fs after identity answered", took)

    for route in routes:
        after = await call(cw.campaigns, route, token, **ids)
        assert after.status_code == 401, (route, after.text)
        assert 'error="invalid_token"' in after.headers["www-authenticate"], route


async def test_a_removed_organizer_is_refused_with_the_token_they_still_hold(cw: CampaignsWorld) -> None:
    org = await cw.org("removing")
    organizer = await cw.identity.add_member(org.id, org.admin, role="organizer", name="leaving")
    await role_is(cw.campaigns_app, organizer.id, org.id, "organizer")
    campaign = await cw.campaign(org)
    seen = await cw.campaigns.get(f"/v1/campaigns/{campaign['id']}", headers=organizer.headers)
    assert seen.status_code == 200, seen.text

    await IdentityActions(cw.identity.http).remove_member(org.id, org.headers, organizer.id)
    took = await role_is(cw.campaigns_app, organizer.id, org.id, None)
    log.warning("campaigns: the member's removal was consumed %.3fs after identity answered", took)

    for method, path, body in (
        ("GET", f"/v1/campaigns/{campaign['id']}", None),
        ("PATCH", f"/v1/campaigns/{campaign['id']}", {"title": "Taken over"}),
        ("POST", f"/v1/campaigns/{campaign['id']}/launch", None),
        ("GET", f"/v1/campaigns/{campaign['id']}/supporters?organization_id={org.id}", None),
    ):
        refused = await cw.campaigns.request(method, path, json=body, headers=organizer.headers)
        assert refused.status_code in (403, 404), (method, path, refused.text)
    created = await cw.campaigns.post(
        "/v1/campaigns",
        json={"organization_id": org.id, "kind": "petition", "title": "x", "summary": "y"},
        headers=organizer.headers,
    )
    assert created.status_code in (403, 422), created.text
    listed = await cw.campaigns.get(f"/v1/campaigns?organization_id={org.id}", headers=organizer.headers)
    assert listed.status_code == 403 or listed.json()["items"] == [], listed.text


async def test_a_demoted_organizer_no_longer_manages_campaigns(cw: CampaignsWorld) -> None:
    org = await cw.org("demoting")
    organizer = await cw.identity.add_member(org.id, org.admin, role="organizer", name="demoted")
    await role_is(cw.campaigns_app, organizer.id, org.id, "organizer")
    campaign = await cw.campaign(org)
    edited = await cw.campaigns.patch(
        f"/v1/campaigns/{campaign['id']}", json={"title": "Still mine"}, headers=organizer.headers
    )
    assert edited.status_code == 200, edited.text

    await IdentityActions(cw.identity.http).change_role(org.id, org.headers, organizer.id, "member")
    took = await role_is(cw.campaigns_app, organizer.id, org.id, "member")
    log.warning("campaigns: the demotion was consumed %.3fs after identity answered", took)

    refused = await cw.campaigns.patch(
        f"/v1/campaigns/{campaign['id']}", json={"title": "Taken over"}, headers=organizer.headers
    )
    assert refused.status_code == 403, refused.text
    launched = await cw.campaigns.post(f"/v1/campaigns/{campaign['id']}/launch", headers=organizer.headers)
    assert launched.status_code == 403, launched.text


# ---- the revocation matrix: every route that acts for the organization, before and after -------------
#
# For a removed admin and for an admin demoted below what a route needs, every authenticated route is
# called twice with the token they hold: before the revocation, on resources of a world where their
# organization owns campaigns (a story collection with stories in every state, drafts, active and paused
# campaigns, supporters) and takes part in a coalition's campaigns, where it must be allowed (not 401, 403
# or 404: the route exercises the role); and after identity's event was consumed, on an identical world,
# where it must be refused (403 or 404, problem+json). The requests come from the tenant-isolation route
# tables, which know how to call every route; a guard fails when a route is neither swept nor classified.


def _call(method: str, path: str, params: dict[str, str] | None, body: Any) -> Call:
    """A Call from the (method, path, params, body) the tenant-isolation tables and stages make."""
    return Call(method, path, body=body, params=params)


TABLES: Any = sibling_module(__file__, "test_tenant_isolation", "campaigns_revocation")
MANAGE: dict[str, Any] = TABLES.MANAGE
READ: dict[str, Any] = TABLES.READ
CONTACTS: dict[str, Any] = TABLES.CONTACTS
ADOPTIONS: dict[str, Any] = TABLES.ADOPTIONS
Key = tuple[str, str]
CREATE: Key = ("POST", "/v1/campaigns")
LIST: Key = ("GET", "/v1/campaigns")
ERASE: Key = ("DELETE", TABLES.ERASE)

# What each campaign-management request needs to be valid: a campaign of the acting organization in this
# status, or its story collection (with a story in this status).
MANAGED: dict[str, str] = {
    "edit": "draft",
    "launch": "draft",
    "pause": "active",
    "resume": "paused",
    "close": "active",
    "archive": "draft",
    "list stories": "stories",
    "approve a story": "submitted",
    "reject a story": "submitted",
    "publish a story": "approved",
    "unpublish a story": "published",
    "letter deliveries": "stories",
    "deliver the petition": "active",
    "petition deliveries": "stories",
    "petition delivery PDF": "delivered petition",
    "petition delivery CSV": "delivered petition",
    # Advocacy routes: "active" as above, or resources staged by advocacy_world.STAGES.
    "schedule a meeting": "advocacy day with an RSVP",
    "list meetings": "active",
    "report a meeting": "held meeting",
    "set an outcome goal": "active",
    "measure an outcome": "outcome goal",
    "judge an outcome": "outcome goal past its deadline",
    "impact report": "active",
    "impact report as PDF": "active",
    "publish the impact report": "active",
}
# In the coalition the partner leads: a campaign to adopt, and one the acting organization adopted.
ADOPTED: dict[str, bool] = {"adopt": False, "withdraw": True, "state conflicts of interest": True}
TABLED: set[Key] = {a.key for table in (MANAGE, READ, CONTACTS, ADOPTIONS) for a in table.values()}
# A coalition's outcome goals and impact report, in a coalition the acting organization leads.
COALITION_WIDE: set[Key] = {
    ("POST", "/v1/coalitions/{coalition_id}/outcome-goals"),
    ("GET", "/v1/coalitions/{coalition_id}/outcome-goals"),
    ("POST", "/v1/coalitions/{coalition_id}/outcome-goals/{goal_id}/measurements"),
    ("POST", "/v1/coalitions/{coalition_id}/outcome-goals/{goal_id}/verdict"),
    ("GET", "/v1/coalitions/{coalition_id}/impact-report"),
    ("GET", "/v1/coalitions/{coalition_id}/impact-report.pdf"),
}
SWEPT: set[Key] = TABLED | {CREATE, LIST, ERASE} | COALITION_WIDE
# The acting organization's directory of decision-makers.
DIRECTORY: dict[str, Key] = {
    "list": ("GET", "/v1/targets"),
    "add": ("POST", "/v1/targets"),
    "import": ("POST", "/v1/target-imports"),
    "read": ("GET", "/v1/targets/{target_id}"),
    "versions": ("GET", "/v1/targets/{target_id}/versions"),
    "edit": ("PATCH", "/v1/targets/{target_id}"),
    "retire": ("DELETE", "/v1/targets/{target_id}"),
}
SWEPT = SWEPT | set(DIRECTORY.values())
# Routes open to anyone signed in, whatever their organization: none (the public routes take no token).
OPEN: dict[Key, str] = {}
DEMOTED_TO = "member"  # below organizer, which every swept route but the reads needs (erasure: admin)
# Swept routes a demotion to DEMOTED_TO keeps: any member of a taking-part organization reads the
# campaign. Checked to stay allowed after the demotion.
DEMOTION_KEEPS: dict[Key, str] = {
    **{a.key: "any member of an organization taking part reads the campaign" for a in READ.values()},
    LIST: "any member of the organization lists its campaigns",
    **{
        DIRECTORY[n]: "any member of the organization reads its directory"
        for n in ("list", "read", "versions")
    },
    **dict.fromkeys(COALITION_READS, "any member of a coalition's organizations reads its outcome goals"),
}
# Routes found not refused after the revocation (real gaps): key -> what happens. Empty: none found.
GAPS: dict[Key, str] = {}
STORY_BODY = "It took five years and four specialists to find out."


@dataclass
class Matrix:
    """The acting organization (whose admins lose access) and a partner leading a coalition it is in."""

    world: CampaignsWorld
    acting: Org
    partner: Org
    coalition_id: str

    async def campaign(self, status: str) -> str:
        world, acting = self.world, self.acting
        if status == "draft":
            return str((await world.campaign(acting))["id"])
        campaign_id = str((await world.launched(acting))["id"])
        if status == "paused":
            await world.moved(campaign_id, acting, "pause")
        return campaign_id

    async def stories(self) -> tuple[str, dict[str, str], str]:
        """A launched story collection of the acting organization, its stories by title (two submitted,
        one approved, one published, one whose supporter is to be erased), and that supporter's id."""
        world, acting = self.world, self.acting
        campaign_id = str((await world.launched(acting, "story_collection"))["id"])
        ref = await world.link_of(campaign_id, acting)
        consents = await world.versions(ref)
        tokens: dict[str, str] = {}
        for title in ("submitted", "submitted too", "approved", "published", "erased"):
            told = await world.act(
                ref, "stories", consents=consents, title=title, body=STORY_BODY, name_form="first_name"
            )
            assert told.status_code == 201, told.text
            tokens[title] = str(told.json()["supporter_token"])
        queue = await world.get(f"/v1/campaigns/{campaign_id}/stories", acting, status="submitted")
        assert queue.status_code == 200, queue.text
        ids = {s["title"]: str(s["id"]) for s in queue.json()["items"]}
        for title, decisions in (("approved", ["approve"]), ("published", ["approve", "publish"])):
            for decision in decisions:
                moved = await world.campaigns.post(
                    f"/v1/campaigns/{campaign_id}/stories/{ids[title]}/{decision}", headers=acting.headers
                )
                assert moved.status_code == 200, moved.text
        me = await world.campaigns.post("/v1/public/supporter", json={"token": tokens["erased"]})
        assert me.status_code == 200, me.text
        return campaign_id, ids, str(me.json()["id"])

    async def coalition_campaign(self, adopted: bool) -> str:
        world = self.world
        campaign_id = str((await world.launched(self.partner, "petition", self.coalition_id))["id"])
        if adopted:
            await world.adopt(campaign_id, self.acting)
        return campaign_id

    async def delivered_petition(self) -> dict[str, str]:
        """A launched petition of the acting organization, delivered once (for download)."""
        campaign_id = await self.campaign("active")
        delivered = await self.world.campaigns.post(
            f"/v1/campaigns/{campaign_id}/petition-deliveries",
            json={"method": "download"},
            headers=self.acting.headers,
        )
        assert delivered.status_code == 201, delivered.text
        return {"campaign_id": campaign_id, "delivery_id": str(delivered.json()["id"])}

    async def directory_calls(self) -> dict[Key, Call]:
        """A valid request for each route of the acting organization's directory, on fresh targets."""
        acting = self.acting.id
        edited, retired = await imported(self.world, self.acting, BRUSSELS[:2])
        target = f"/v1/targets/{edited['id']}"
        return {
            DIRECTORY["list"]: Call("GET", "/v1/targets", params={"organization_id": acting}),
            DIRECTORY["add"]: Call(
                "POST", "/v1/targets", body={"organization_id": acting, **as_json(BRUSSELS[2])}
            ),
            DIRECTORY["import"]: Call(
                "POST",
                "/v1/target-imports",
                body={"organization_id": acting, "csv": target_csv(BRUSSELS[3:4])},
            ),
            DIRECTORY["read"]: Call("GET", target),
            DIRECTORY["versions"]: Call("GET", f"{target}/versions"),
            DIRECTORY["edit"]: Call("PATCH", target, body={"office": "Town hall"}),
            DIRECTORY["retire"]: Call("DELETE", f"/v1/targets/{retired['id']}"),
        }

    async def stage(self) -> dict[Key, Call]:
        """A valid request for every swept route, on fresh resources."""
        acting = self.acting.id
        calls: dict[Key, Call] = {}
        collection, stories, supporter_id = await self.stories()
        submitted = iter([stories["submitted"], stories["submitted too"]])  # one each to approve, reject
        for name, attempt in MANAGE.items():
            need = MANAGED[name]
            if need == "delivered petition":
                ids = await self.delivered_petition()
                calls[attempt.key] = _call(*attempt.request(**ids, organization_id=acting))
                continue
            if need in STAGES:
                calls[attempt.key] = _call(*await STAGES[need](self.world, self.acting))
                continue
            if need in ("draft", "active", "paused"):
                ids = {"campaign_id": await self.campaign(need), "story_id": str(uuid.uuid4())}
            elif need == "stories":
                ids = {"campaign_id": collection, "story_id": str(uuid.uuid4())}
            else:
                story = next(submitted) if need == "submitted" else stories[need]
                ids = {"campaign_id": collection, "story_id": story}
            calls[attempt.key] = _call(*attempt.request(**ids, organization_id=acting))
        for attempt in (*READ.values(), *CONTACTS.values()):
            calls[attempt.key] = _call(
                *attempt.request(campaign_id=collection, story_id=str(uuid.uuid4()), organization_id=acting)
            )
        for name, attempt in ADOPTIONS.items():
            campaign_id = await self.coalition_campaign(ADOPTED[name])
            calls[attempt.key] = _call(
                *attempt.request(campaign_id=campaign_id, story_id=str(uuid.uuid4()), organization_id=acting)
            )
        calls[CREATE] = Call(
            "POST",
            "/v1/campaigns",
            body={
                "organization_id": acting,
                "kind": "petition",
                "title": "Petition for faster diagnosis",
                "summary": "Diagnosis of rare diseases takes five years on average.",
                "details": DETAILS["petition"],
                "goal": goal("petition"),
            },
        )
        calls[LIST] = Call("GET", "/v1/campaigns", params={"organization_id": acting})
        calls[ERASE] = Call("DELETE", f"/v1/organizations/{acting}/supporters/{supporter_id}")
        calls.update(await self.directory_calls())
        for key, staged in (await stage_coalition(self.world, self.acting)).items():
            calls[key] = _call(*staged)
        return calls


async def _sweep(
    matrix: Matrix, who: str, revoke: Callable[[str], Awaitable[None]], role_after: str | None
) -> tuple[dict[Key, Seen], dict[Key, Seen]]:
    world, acting, app = matrix.world, matrix.acting, matrix.world.campaigns_app
    person = await world.identity.add_member(acting.id, acting.admin, role="admin", name=who)
    await role_is(app, person.id, acting.id, "admin")
    before_calls, after_calls = await matrix.stage(), await matrix.stage()
    assert set(before_calls) == SWEPT

    before = await seen_all(world.campaigns, person.token, before_calls)
    await revoke(person.id)
    took = await role_is(app, person.id, acting.id, role_after)
    log.warning("campaigns: the %s was consumed %.3fs after identity answered", who, took)
    after = await seen_all(world.campaigns, person.token, after_calls)
    return before, after


@pytest.fixture(scope="module")
async def matrix(
    identity_http: httpx.AsyncClient,
    coalition_http: httpx.AsyncClient,
    coalition_app: FastAPI,
    campaigns_http: httpx.AsyncClient,
    campaigns_app: FastAPI,
) -> Matrix:
    world = CampaignsWorld(
        IdentityApi(identity_http), coalition_http, coalition_app, campaigns_http, campaigns_app
    )
    acting, partner = await world.org("acting"), await world.org("partner")
    coalition = await world.shared_coalition(partner, acting)
    return Matrix(world, acting, partner, str(coalition["id"]))


@pytest.fixture(scope="module")
async def removal(matrix: Matrix) -> tuple[dict[Key, Seen], dict[Key, Seen]]:
    actions = IdentityActions(matrix.world.identity.http)

    async def remove(user_id: str) -> None:
        await actions.remove_member(matrix.acting.id, matrix.acting.headers, user_id)

    return await _sweep(matrix, "removal", remove, None)


@pytest.fixture(scope="module")
async def demotion(matrix: Matrix) -> tuple[dict[Key, Seen], dict[Key, Seen]]:
    actions = IdentityActions(matrix.world.identity.http)

    async def demote(user_id: str) -> None:
        await actions.change_role(matrix.acting.id, matrix.acting.headers, user_id, DEMOTED_TO)

    return await _sweep(matrix, "demotion", demote, DEMOTED_TO)


def test_every_authenticated_route_is_swept_or_classified(campaigns_app: FastAPI) -> None:
    routes = {(r.method, r.path) for r in authenticated_routes(campaigns_app)}

    assert not SWEPT & set(OPEN)
    assert set(DEMOTION_KEEPS) <= SWEPT
    assert set(MANAGED) == set(MANAGE)
    assert set(ADOPTED) == set(ADOPTIONS)
    assert routes == SWEPT | set(OPEN), (
        "a route is neither swept nor classified: give it a request in the tenant-isolation tables (and a "
        "state here), or classify it in OPEN with a reason",
        sorted(routes ^ (SWEPT | set(OPEN))),
    )


@pytest.mark.parametrize("key", swept_params(SWEPT, GAPS))
async def test_a_removed_admins_earlier_token_is_refused_on_every_route(
    removal: tuple[dict[Key, Seen], dict[Key, Seen]], key: Key
) -> None:
    before, after = removal[0][key], removal[1][key]

    assert before.allowed, f"before the removal the token must be allowed: {before}"
    assert after.refused, f"after the removal was consumed the token must be refused: {after}"


@pytest.mark.parametrize("key", swept_params(SWEPT - set(DEMOTION_KEEPS), GAPS))
async def test_a_demoted_admins_earlier_token_is_refused_what_organizers_do(
    demotion: tuple[dict[Key, Seen], dict[Key, Seen]], key: Key
) -> None:
    before, after = demotion[0][key], demotion[1][key]

    assert before.allowed, f"before the demotion the token must be allowed: {before}"
    assert after.refused, f"after the demotion was consumed the token must be refused: {after}"


@pytest.mark.parametrize("key", swept_params(set(DEMOTION_KEEPS), GAPS))
async def test_a_demoted_admin_keeps_what_any_member_does(
    demotion: tuple[dict[Key, Seen], dict[Key, Seen]], key: Key
) -> None:
    before, after = demotion[0][key], demotion[1][key]

    assert before.allowed, before
    assert after.allowed, f"{DEMOTION_KEEPS[key]}; yet: {after}"
