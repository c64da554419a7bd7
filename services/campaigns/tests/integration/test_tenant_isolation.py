"""Tenant isolation: nobody sees a campaign it takes no part in, only organizers of the owner (or of a
coalition's lead) manage it, and an organization's supporters are its own.

Every route of the API is listed once below (what a campaign's managers do, what its viewers read, the
contacts, adoption, the organization-wide routes and the public ones); a guard test fails when the app
grows a route the lists do not cover.

The statuses follow the service: a campaign is a 404 to those who take no part in it (its existence is
not revealed), a 403 to those who see it but may not do this, and acting for an organization one does
not organize is a 403 before the campaign is even looked at.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from advocacy_world import NIL, meeting_body, outcome_goal_body
from campaigns_world import CampaignsWorld
from coalition_world import Org
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from identity_api import IdentityApi, Person, assert_problem, bearer

from common.links import ACTION_CONFIRMATION, SUPPORTER_PAGES, derive_link_token

CAMPAIGN = "/v1/campaigns/{campaign_id}"
STORY = CAMPAIGN + "/stories/{story_id}"
ADOPTION = CAMPAIGN + "/adoptions/{organization_id}"
ERASE = "/v1/organizations/{organization_id}/supporters/{supporter_id}"
DELIVERY = CAMPAIGN + "/petition-deliveries/{delivery_id}"
UNKNOWN_DELIVERY = "00000000-0000-4000-8000-00000000d1e1"  # no such delivery: refusals come first


@dataclass(frozen=True)
class Attempt:
    """One request; `{campaign_id}`, `{story_id}` and `{organization_id}` are filled in per test, in the
    path, the query and the body."""

    method: str
    route: str
    body: dict[str, Any] | None = None
    params: dict[str, str] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.route

    def request(self, **ids: str) -> tuple[str, str, dict[str, str], Any]:
        ids = {**ABSENT_IDS, **ids}

        def fill(values: dict[str, Any]) -> dict[str, Any]:
            return {k: v.format(**ids) if isinstance(v, str) else v for k, v in values.items()}

        body = fill(self.body) if self.body is not None else None
        return self.method, self.route.format(**ids), fill(self.params or {}), body


# Ids of a campaign's meetings and outcome goals: none such exist, so a request that got past the
# refusals under test would be a 404 (the revocation matrix stages real ones: advocacy_world.STAGES).
ABSENT_IDS = {"meeting_id": NIL, "goal_id": NIL}
MEETING = CAMPAIGN + "/meetings/{meeting_id}"
OUTCOME_GOAL = CAMPAIGN + "/outcome-goals/{goal_id}"
COALITION = "/v1/coalitions/{coalition_id}"

# What only a campaign's managers do (organizers of its owner, or of an active lead of its coalition).
MANAGE = {
    "edit": Attempt("PATCH", CAMPAIGN, {"title": "Hijacked", "summary": "Taken over"}),
    "launch": Attempt("POST", CAMPAIGN + "/launch"),
    "pause": Attempt("POST", CAMPAIGN + "/pause"),
    "resume": Attempt("POST", CAMPAIGN + "/resume"),
    "close": Attempt("POST", CAMPAIGN + "/close"),
    "archive": Attempt("POST", CAMPAIGN + "/archive"),
    "list stories": Attempt("GET", CAMPAIGN + "/stories", params={"status": "submitted"}),
    "approve a story": Attempt("POST", STORY + "/approve"),
    "reject a story": Attempt("POST", STORY + "/reject", {"reason": "x"}),
    "publish a story": Attempt("POST", STORY + "/publish"),
    "unpublish a story": Attempt("POST", STORY + "/unpublish"),
    "letter deliveries": Attempt("GET", CAMPAIGN + "/letters/deliveries", params={"state": "queued"}),
    "deliver the petition": Attempt("POST", CAMPAIGN + "/petition-deliveries", {"method": "download"}),
    "petition deliveries": Attempt("GET", CAMPAIGN + "/petition-deliveries"),
    "petition delivery PDF": Attempt("GET", DELIVERY + "/pdf"),
    "petition delivery CSV": Attempt("GET", DELIVERY + "/csv"),
    "schedule a meeting": Attempt("POST", CAMPAIGN + "/meetings", meeting_body([NIL])),
    "list meetings": Attempt("GET", CAMPAIGN + "/meetings"),
    "report a meeting": Attempt("POST", MEETING + "/report", {"outcome": "supportive"}),
    "set an outcome goal": Attempt("POST", CAMPAIGN + "/outcome-goals", outcome_goal_body()),
    "measure an outcome": Attempt(
        "POST", OUTCOME_GOAL + "/measurements", {"measured_on": "2026-01-01", "value": 1}
    ),
    "judge an outcome": Attempt(
        "POST", OUTCOME_GOAL + "/verdict", {"verdict": "missed", "statement": "Taken over"}
    ),
    "impact report": Attempt("GET", CAMPAIGN + "/impact-report"),
    "impact report as PDF": Attempt("GET", CAMPAIGN + "/impact-report.pdf"),
    "publish the impact report": Attempt("PUT", CAMPAIGN + "/impact-report/publication", {"published": True}),
}
# What anyone taking part in the campaign reads.
READ = {
    "campaign": Attempt("GET", CAMPAIGN),
    "links": Attempt("GET", CAMPAIGN + "/links"),
    "stats": Attempt("GET", CAMPAIGN + "/stats"),
    "outcome goals": Attempt("GET", CAMPAIGN + "/outcome-goals"),
    "disclosures": Attempt("GET", CAMPAIGN + "/disclosures"),
}
# An organization's supporters; `{organization_id}` is whose.
CONTACTS = {
    "supporters": Attempt("GET", CAMPAIGN + "/supporters", params={"organization_id": "{organization_id}"}),
    "export": Attempt("GET", CAMPAIGN + "/supporters.csv", params={"organization_id": "{organization_id}"}),
}
# What an organization does for itself in a coalition campaign; `{organization_id}` is the adopter.
ADOPTIONS = {
    "adopt": Attempt("POST", CAMPAIGN + "/adoptions", {"organization_id": "{organization_id}"}),
    "withdraw": Attempt("DELETE", ADOPTION),
    "state conflicts of interest": Attempt(
        "PUT",
        CAMPAIGN + "/conflicts-of-interest",
        {"organization_id": "{organization_id}", "statement": "None"},
    ),
}
# Routes that are not about one campaign; each has its own tests below.
ORGANIZATION_WIDE = {
    ("POST", "/v1/campaigns"),
    ("GET", "/v1/campaigns"),
    ("DELETE", ERASE),
    # The directories of decision-makers: their isolation is tested in test_targets.py.
    ("POST", "/v1/targets"),
    ("GET", "/v1/targets"),
    ("POST", "/v1/target-imports"),
    ("GET", "/v1/targets/{target_id}"),
    ("PATCH", "/v1/targets/{target_id}"),
    ("DELETE", "/v1/targets/{target_id}"),
    ("GET", "/v1/targets/{target_id}/versions"),
    # A coalition's outcome goals and impact report: test_outcome_goals.py and test_impact_report.py.
    ("POST", COALITION + "/outcome-goals"),
    ("GET", COALITION + "/outcome-goals"),
    ("POST", COALITION + "/outcome-goals/{goal_id}/measurements"),
    ("POST", COALITION + "/outcome-goals/{goal_id}/verdict"),
    ("GET", COALITION + "/impact-report"),
    ("GET", COALITION + "/impact-report.pdf"),
}
# The public routes (no account); each has its own tests below.
PUBLIC = {
    ("GET", "/v1/public/links/{ref}"),
    ("POST", "/v1/public/links/{ref}/signatures"),
    ("POST", "/v1/public/links/{ref}/letters"),
    ("POST", "/v1/public/links/{ref}/rsvps"),
    ("POST", "/v1/public/links/{ref}/checkins"),
    ("POST", "/v1/public/links/{ref}/stories"),
    ("POST", "/v1/public/links/{ref}/shares"),
    ("GET", "/v1/public/campaigns/{campaign_id}/stories"),
    ("POST", "/v1/public/supporter"),
    ("POST", "/v1/public/supporter/consent-withdrawals"),
    ("POST", "/v1/public/supporter/erasure"),
    ("GET", "/v1/public/challenge"),
    ("POST", "/v1/public/confirmations"),
    ("GET", "/v1/public/links/{ref}/targets"),  # test_targets.py: no e-mail address, no supporter
    # An attendee's report-back and a published impact report: test_meetings.py, test_impact_report.py.
    ("GET", "/v1/public/meeting-reports"),
    ("POST", "/v1/public/meeting-reports"),
    ("GET", "/v1/public/links/{ref}/impact-report"),
}
MANAGEMENT = {**MANAGE, **READ, **CONTACTS, **ADOPTIONS}


@dataclass
class Tenants:
    """Campaigns of an organization and of a coalition, people of every role, API clients, outsiders.

    `solo` is a launched story collection of `owner` with one submitted story and one supporter;
    `joint` is a launched petition of the coalition led by `lead`, adopted by `member`, followed by
    `observer`, with a supporter on each link (sharing agreements are the default, aggregate only).
    """

    world: CampaignsWorld
    owner: Org
    owner_member: Person  # a plain `member` of the owner organization
    owner_clients: dict[str, str]  # scope set -> access token of an API client of the owner
    lead: Org
    member: Org
    member_organizer: Person  # an organizer (not admin) of the member organization
    member_plain: Person  # a plain `member` of the member organization
    observer: Org
    outsider: Org
    outsider_client: str  # campaigns:read/write and supporters:read/erase, of the outsider organization
    coalition: dict[str, Any]
    solo: dict[str, Any]
    story_id: str
    owner_supporter: str
    joint: dict[str, Any]
    member_supporter: str
    lead_supporter: str
    draft: dict[str, Any]
    draft_ref: str
    archived: dict[str, Any]
    archived_ref: str

    @property
    def http(self) -> httpx.AsyncClient:
        return self.world.campaigns


async def api_client(identity: httpx.AsyncClient, org: Org, scopes: list[str]) -> tuple[str, str]:
    created = await identity.post(
        f"/v1/organizations/{org.id}/clients",
        json={"name": "Integration", "scopes": scopes},
        headers=org.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["client_id"], created.json()["client_secret"]


async def client_token(identity: httpx.AsyncClient, client: tuple[str, str], scope: str) -> str:
    token = await identity.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client[0],
            "client_secret": client[1],
            "scope": scope,
        },
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


async def supporter_id(world: CampaignsWorld, response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    me = await world.campaigns.post(
        "/v1/public/supporter", json={"token": response.json()["supporter_token"]}
    )
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


@pytest.fixture(scope="module")
async def tenants(
    identity_http: httpx.AsyncClient,
    coalition_http: httpx.AsyncClient,
    coalition_app: FastAPI,
    campaigns_http: httpx.AsyncClient,
    campaigns_app: FastAPI,
) -> Tenants:
    world = CampaignsWorld(
        IdentityApi(identity_http), coalition_http, coalition_app, campaigns_http, campaigns_app
    )
    owner, lead, member, observer, outsider = [
        await world.org(name) for name in ("owner", "lead", "member", "observer", "outsider")
    ]
    owner_member = await world.identity.add_member(owner.id, owner.admin, role="member")
    member_organizer = await world.identity.add_member(member.id, member.admin, role="organizer")
    member_plain = await world.identity.add_member(member.id, member.admin, role="member")

    owners = await api_client(identity_http, owner, ["campaigns:read", "campaigns:write", "coalitions:read"])
    owner_clients = {
        scope: await client_token(identity_http, owners, scope)
        for scope in ("campaigns:read", "campaigns:write", "coalitions:read")
    }
    outsider_scopes = ["campaigns:read", "campaigns:write", "supporters:read", "supporters:erase"]
    outsiders = await api_client(identity_http, outsider, outsider_scopes)
    outsider_client = await client_token(identity_http, outsiders, " ".join(outsider_scopes))

    coalition = await world.shared_coalition(lead, member)
    await world.member(coalition["id"], lead, observer, role="observer")
    await world.projected(coalition["id"], observer.id)

    solo = await world.launched(owner, "story_collection")
    owner_ref = await world.link_of(solo["id"], owner)
    versions = await world.versions(owner_ref)
    told = await world.act(
        owner_ref,
        "stories",
        consents=versions,
        title="Five years",
        body="It took five years to find out.",
        name_form="first_name",
    )
    owner_supporter = await supporter_id(world, told)
    listed = await world.campaigns.get(f"/v1/campaigns/{solo['id']}/stories", headers=owner.headers)
    assert listed.status_code == 200, listed.text
    story_id = listed.json()["items"][0]["id"]

    joint = await world.launched(lead, "petition", coalition["id"])
    member_ref = await world.adopt(joint["id"], member)
    lead_ref = await world.link_of(joint["id"], lead)
    consents = await world.versions(lead_ref)
    member_supporter = await supporter_id(world, await world.act(member_ref, consents=consents))
    lead_supporter = await supporter_id(world, await world.act(lead_ref, consents=consents))

    draft = await world.campaign(owner, "petition")
    draft_ref = await world.link_of(draft["id"], owner)
    archived = await world.campaign(owner, "petition")
    archived_ref = await world.link_of(archived["id"], owner)
    moved = await world.campaigns.post(f"/v1/campaigns/{archived['id']}/archive", headers=owner.headers)
    assert moved.status_code == 200, moved.text

    return Tenants(
        world,
        owner,
        owner_member,
        owner_clients,
        lead,
        member,
        member_organizer,
        member_plain,
        observer,
        outsider,
        outsider_client,
        coalition,
        solo,
        story_id,
        owner_supporter,
        joint,
        member_supporter,
        lead_supporter,
        draft,
        draft_ref,
        archived,
        archived_ref,
    )


async def snapshot(tenants: Tenants, campaign_id: str) -> tuple[Any, ...]:
    """The campaign, its links, stories, supporters and totals as stored: what no refused request changes."""
    db = tenants.world.service.repo.db
    cid = uuid.UUID(campaign_id)
    await tenants.world.counted(campaign_id)  # the aggregator marks supporters counted meanwhile

    async def every(collection: str) -> list[Any]:
        return sorted(await db[collection].find({"campaign_id": cid}).to_list(), key=lambda d: str(d["_id"]))

    campaign = await db["campaigns"].find_one({"_id": cid})
    stats = await db["stats"].find_one({"_id": cid})
    return campaign, stats, await every("links"), await every("stories"), await every("supporters")


def refused_without_leaking(response: httpx.Response, status: int, tenants: Tenants) -> None:
    """The right problem, with nothing of the campaigns in it beyond what the caller sent."""
    assert_problem(response, status)
    sent = str(response.request.url) + response.request.content.decode(errors="replace")
    for secret in (
        tenants.solo["title"],
        tenants.joint["title"],
        tenants.owner.id,
        tenants.lead.id,
        tenants.member.id,
        tenants.coalition["id"],
        tenants.owner_supporter,
        tenants.member_supporter,
    ):
        assert secret in sent or secret not in response.text


async def send(
    tenants: Tenants, attempt: Attempt, campaign: dict[str, Any], org_id: str, headers: dict[str, str]
) -> httpx.Response:
    method, path, params, body = attempt.request(
        campaign_id=campaign["id"],
        story_id=tenants.story_id,
        organization_id=org_id,
        delivery_id=UNKNOWN_DELIVERY,
    )
    return await tenants.http.request(method, path, params=params, json=body, headers=headers)


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


def test_every_route_has_an_isolation_case(campaigns_app: FastAPI) -> None:
    covered = {a.key for a in MANAGEMENT.values()} | ORGANIZATION_WIDE | PUBLIC

    assert _v1_routes(campaigns_app) == covered, (
        "the routes and the isolation cases differ: add the new route to MANAGE, READ, CONTACTS, "
        "ADOPTIONS, ORGANIZATION_WIDE or PUBLIC"
    )


# ---- no token ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", MANAGEMENT.values(), ids=MANAGEMENT.keys())
async def test_no_token_is_401_on_every_campaign_route(tenants: Tenants, attempt: Attempt) -> None:
    before = await snapshot(tenants, tenants.solo["id"])

    response = await send(tenants, attempt, tenants.solo, tenants.owner.id, {})

    refused_without_leaking(response, 401, tenants)
    assert "www-authenticate" in response.headers
    assert await snapshot(tenants, tenants.solo["id"]) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/campaigns"),
        ("GET", "/v1/campaigns?organization_id={owner}"),
        ("DELETE", "/v1/organizations/{owner}/supporters/{supporter}"),
    ],
)
async def test_no_token_is_401_on_the_organization_wide_routes(
    tenants: Tenants, method: str, path: str
) -> None:
    url = path.format(owner=tenants.owner.id, supporter=tenants.owner_supporter)
    body = {"organization_id": tenants.owner.id} if method == "POST" else None

    response = await tenants.http.request(method, url, json=body)

    refused_without_leaking(response, 401, tenants)


# ---- outsiders -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "outsider's API client"])
@pytest.mark.parametrize("which", ["solo", "joint", "draft"])
@pytest.mark.parametrize("attempt", {**MANAGE, **READ}.values(), ids={**MANAGE, **READ}.keys())
async def test_an_outsider_does_not_find_a_campaign(
    tenants: Tenants, attempt: Attempt, which: str, who: str
) -> None:
    campaign = getattr(tenants, which)
    headers = tenants.outsider.headers if who == "outsider" else bearer(tenants.outsider_client)
    before = await snapshot(tenants, campaign["id"])

    response = await send(tenants, attempt, campaign, tenants.outsider.id, headers)

    refused_without_leaking(response, 404, tenants)
    assert await snapshot(tenants, campaign["id"]) == before


@pytest.mark.parametrize("who", ["outsider", "outsider's API client"])
@pytest.mark.parametrize("which", ["solo", "joint"])
@pytest.mark.parametrize("attempt", CONTACTS.values(), ids=CONTACTS.keys())
async def test_an_outsider_reading_its_own_supporters_does_not_find_another_campaign(
    tenants: Tenants, attempt: Attempt, which: str, who: str
) -> None:
    headers = tenants.outsider.headers if who == "outsider" else bearer(tenants.outsider_client)

    response = await send(tenants, attempt, getattr(tenants, which), tenants.outsider.id, headers)

    refused_without_leaking(response, 404, tenants)


@pytest.mark.parametrize("which", ["solo", "joint"])
async def test_an_outsider_adopting_for_itself_does_not_find_a_campaign(tenants: Tenants, which: str) -> None:
    campaign = getattr(tenants, which)
    before = await snapshot(tenants, campaign["id"])

    adopt = await send(tenants, ADOPTIONS["adopt"], campaign, tenants.outsider.id, tenants.outsider.headers)
    withdraw = await send(
        tenants, ADOPTIONS["withdraw"], campaign, tenants.outsider.id, tenants.outsider.headers
    )

    refused_without_leaking(adopt, 404, tenants)
    refused_without_leaking(withdraw, 404, tenants)
    assert await snapshot(tenants, campaign["id"]) == before


@pytest.mark.parametrize(("name", "status"), [("adopt", 403), ("withdraw", 404)])
async def test_an_outsider_cannot_adopt_or_withdraw_for_a_member(
    tenants: Tenants, name: str, status: int
) -> None:
    """Adopting for an organization one does not organize is refused before the campaign is looked at;
    withdrawing looks at the campaign first, which the outsider does not see."""
    before = await snapshot(tenants, tenants.joint["id"])

    response = await send(
        tenants, ADOPTIONS[name], tenants.joint, tenants.member.id, tenants.outsider.headers
    )

    refused_without_leaking(response, status, tenants)
    assert await snapshot(tenants, tenants.joint["id"]) == before


# ---- people of the owner organization ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "read-only API client"])
@pytest.mark.parametrize("attempt", READ.values(), ids=READ.keys())
async def test_a_member_and_a_read_client_of_the_owner_read_the_campaign(
    tenants: Tenants, attempt: Attempt, who: str
) -> None:
    headers = (
        tenants.owner_member.headers if who == "member" else bearer(tenants.owner_clients["campaigns:read"])
    )

    response = await send(tenants, attempt, tenants.solo, tenants.owner.id, headers)

    assert response.status_code == 200, response.text
    assert tenants.solo["id"] in response.text or tenants.owner.id in response.text


@pytest.mark.parametrize("who", ["member", "read-only API client", "API client without campaign scopes"])
@pytest.mark.parametrize("attempt", MANAGE.values(), ids=MANAGE.keys())
async def test_a_member_and_a_read_client_of_the_owner_cannot_manage(
    tenants: Tenants, attempt: Attempt, who: str
) -> None:
    headers = {
        "member": tenants.owner_member.headers,
        "read-only API client": bearer(tenants.owner_clients["campaigns:read"]),
        "API client without campaign scopes": bearer(tenants.owner_clients["coalitions:read"]),
    }[who]
    before = await snapshot(tenants, tenants.solo["id"])

    response = await send(tenants, attempt, tenants.solo, tenants.owner.id, headers)

    assert_problem(response, 403)
    assert await snapshot(tenants, tenants.solo["id"]) == before


@pytest.mark.parametrize("attempt", READ.values(), ids=READ.keys())
async def test_an_api_client_without_the_read_scope_cannot_read(tenants: Tenants, attempt: Attempt) -> None:
    response = await send(
        tenants, attempt, tenants.solo, tenants.owner.id, bearer(tenants.owner_clients["coalitions:read"])
    )

    body = assert_problem(response, 403)
    assert "campaigns:read" in body["detail"]


async def test_an_api_client_with_the_write_scope_manages(tenants: Tenants) -> None:
    """The control for the refusals above: the same organization's client with the write scope edits."""
    campaign = await tenants.world.campaign(tenants.owner, "petition")
    headers = bearer(tenants.owner_clients["campaigns:write"])

    edited = await tenants.http.patch(
        f"/v1/campaigns/{campaign['id']}", json={"title": "Renamed"}, headers=headers
    )

    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "Renamed"


@pytest.mark.parametrize("who", ["member", "read-only API client", "API client without campaign scopes"])
@pytest.mark.parametrize("attempt", CONTACTS.values(), ids=CONTACTS.keys())
async def test_only_organizers_of_the_owner_read_its_supporters(
    tenants: Tenants, attempt: Attempt, who: str
) -> None:
    headers = {
        "member": tenants.owner_member.headers,
        "read-only API client": bearer(tenants.owner_clients["campaigns:read"]),
        "API client without campaign scopes": bearer(tenants.owner_clients["coalitions:read"]),
    }[who]

    response = await send(tenants, attempt, tenants.solo, tenants.owner.id, headers)

    assert_problem(response, 403)
    assert tenants.owner_supporter not in response.text


@pytest.mark.parametrize("attempt", CONTACTS.values(), ids=CONTACTS.keys())
async def test_the_owners_admin_reads_its_own_supporters(tenants: Tenants, attempt: Attempt) -> None:
    """The control for the refusals: the supporter is there for those who may see it."""
    response = await send(tenants, attempt, tenants.solo, tenants.owner.id, tenants.owner.headers)

    assert response.status_code == 200, response.text
    assert tenants.owner_supporter in response.text


# ---- another organization's supporters --------------------------------------------------------------------


@pytest.mark.parametrize("attempt", CONTACTS.values(), ids=CONTACTS.keys())
@pytest.mark.parametrize(
    ("who", "which", "whose"),
    [
        ("owner", "solo", "outsider"),
        ("outsider", "solo", "owner"),
        ("member", "joint", "lead"),
        ("lead", "joint", "member"),
        ("observer", "joint", "member"),
        ("member_organizer", "joint", "lead"),
    ],
)
async def test_an_organization_cannot_read_another_organizations_supporters(
    tenants: Tenants, attempt: Attempt, who: str, which: str, whose: str
) -> None:
    actor = getattr(tenants, who)

    response = await send(
        tenants, attempt, getattr(tenants, which), getattr(tenants, whose).id, actor.headers
    )

    refused_without_leaking(response, 403, tenants)
    assert tenants.lead_supporter not in response.text


@pytest.mark.parametrize("attempt", CONTACTS.values(), ids=CONTACTS.keys())
async def test_without_a_contacts_agreement_a_member_sees_only_its_own_supporters(
    tenants: Tenants, attempt: Attempt
) -> None:
    response = await send(tenants, attempt, tenants.joint, tenants.member.id, tenants.member.headers)

    assert response.status_code == 200, response.text
    assert tenants.member_supporter in response.text
    assert tenants.lead_supporter not in response.text


@pytest.mark.parametrize(
    ("who", "whose", "supporter", "status"),
    [
        ("owner", "owner", "member_supporter", 404),  # another organization's supporter under its own name
        ("lead", "lead", "member_supporter", 404),  # a coalition partner's supporter
        ("outsider", "outsider", "owner_supporter", 404),
        ("outsider", "owner", "owner_supporter", 403),  # acting for an organization it does not administer
        ("member", "lead", "lead_supporter", 403),
        ("owner_member", "owner", "owner_supporter", 403),  # not an admin of the organization
        ("outsider_client", "owner", "owner_supporter", 403),
        ("owner_read_client", "owner", "owner_supporter", 403),
    ],
)
async def test_an_organization_cannot_erase_another_organizations_supporter(
    tenants: Tenants, who: str, whose: str, supporter: str, status: int
) -> None:
    headers = {
        "outsider_client": bearer(tenants.outsider_client),
        "owner_read_client": bearer(tenants.owner_clients["campaigns:read"]),
    }.get(who) or getattr(tenants, who).headers
    supporter_id = getattr(tenants, supporter)
    url = ERASE.format(organization_id=getattr(tenants, whose).id, supporter_id=supporter_id)
    db = tenants.world.service.repo.db
    before = await db["supporters"].find_one({"_id": uuid.UUID(supporter_id)})

    response = await tenants.http.delete(url, headers=headers)

    refused_without_leaking(response, status, tenants)
    after = await db["supporters"].find_one({"_id": uuid.UUID(supporter_id)})
    assert after == before
    assert after is not None
    assert after.get("erased_at") is None


# ---- a coalition's members and observers ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "member_organizer", "observer"])
@pytest.mark.parametrize("attempt", MANAGE.values(), ids=MANAGE.keys())
async def test_members_and_observers_of_the_coalition_cannot_manage_its_campaign(
    tenants: Tenants, attempt: Attempt, who: str
) -> None:
    before = await snapshot(tenants, tenants.joint["id"])

    response = await send(tenants, attempt, tenants.joint, tenants.member.id, getattr(tenants, who).headers)

    body = assert_problem(response, 403)
    assert "lead" in body["detail"]
    assert await snapshot(tenants, tenants.joint["id"]) == before


@pytest.mark.parametrize("who", ["member", "member_organizer", "member_plain", "observer"])
@pytest.mark.parametrize("attempt", READ.values(), ids=READ.keys())
async def test_members_and_observers_of_the_coalition_read_its_campaign(
    tenants: Tenants, attempt: Attempt, who: str
) -> None:
    response = await send(tenants, attempt, tenants.joint, tenants.member.id, getattr(tenants, who).headers)

    assert response.status_code == 200, response.text


async def test_an_observer_reads_the_statistics_but_does_not_adopt(tenants: Tenants) -> None:
    before = await snapshot(tenants, tenants.joint["id"])

    stats = await tenants.http.get(
        f"/v1/campaigns/{tenants.joint['id']}/stats", headers=tenants.observer.headers
    )
    adopt = await send(
        tenants, ADOPTIONS["adopt"], tenants.joint, tenants.observer.id, tenants.observer.headers
    )

    assert stats.status_code == 200, stats.text
    assert stats.json()["counts"] == {"signature": 2}
    body = assert_problem(adopt, 403)
    assert "observer" in body["detail"]
    assert await snapshot(tenants, tenants.joint["id"]) == before


@pytest.mark.parametrize(
    ("who", "whose", "status"),
    [
        ("member_plain", "member", 403),  # a plain member of the adopter
        ("observer", "member", 403),  # another organization of the coalition
        ("member", "lead", 403),  # a member for the lead
        ("owner", "owner", 404),  # an organization outside the coalition, for itself
    ],
)
@pytest.mark.parametrize("attempt", ADOPTIONS.values(), ids=ADOPTIONS.keys())
async def test_adoptions_are_only_for_the_adopters_organizers(
    tenants: Tenants, attempt: Attempt, who: str, whose: str, status: int
) -> None:
    before = await snapshot(tenants, tenants.joint["id"])

    response = await send(
        tenants, attempt, tenants.joint, getattr(tenants, whose).id, getattr(tenants, who).headers
    )

    refused_without_leaking(response, status, tenants)
    assert await snapshot(tenants, tenants.joint["id"]) == before


async def test_an_organization_cannot_adopt_an_organizations_own_campaign_nor_learn_it_exists(
    tenants: Tenants,
) -> None:
    for campaign in (tenants.solo, tenants.draft):
        response = await send(
            tenants, ADOPTIONS["adopt"], campaign, tenants.member.id, tenants.member.headers
        )

        refused_without_leaking(response, 404, tenants)


# ---- the organization-wide routes ----------------------------------------------------------------------


async def test_nobody_creates_a_campaign_for_an_organization_it_does_not_organize(tenants: Tenants) -> None:
    body = {
        "organization_id": tenants.owner.id,
        "kind": "share",
        "title": "Impostor campaign",
        "details": {"message": "Speaking for others", "link": "https://example.org/impostor"},
        "goal": {"metric": "unique_supporters", "target": 10, "deadline": tenants.solo["goal"]["deadline"]},
    }
    callers = {
        "outsider": tenants.outsider.headers,
        "outsider's API client": bearer(tenants.outsider_client),
        "member of the owner": tenants.owner_member.headers,
        "read-only API client of the owner": bearer(tenants.owner_clients["campaigns:read"]),
    }

    responses = {
        who: await tenants.http.post("/v1/campaigns", json=body, headers=h) for who, h in callers.items()
    }

    assert {who: r.status_code for who, r in responses.items()} == dict.fromkeys(callers, 403)
    listed = await tenants.http.get(
        "/v1/campaigns", params={"organization_id": tenants.owner.id}, headers=tenants.owner.headers
    )
    assert "Impostor campaign" not in listed.text


@pytest.mark.parametrize("who", ["member", "member_organizer", "observer", "outsider"])
async def test_only_a_lead_creates_a_coalition_campaign(tenants: Tenants, who: str) -> None:
    actor = getattr(tenants, who)
    body = {
        "organization_id": actor.id if who != "member_organizer" else tenants.member.id,
        "coalition_id": tenants.coalition["id"],
        "kind": "share",
        "title": "Not a lead's campaign",
        "details": {"message": "Speaking for the coalition", "link": "https://example.org/c"},
        "goal": {"metric": "unique_supporters", "target": 10, "deadline": tenants.solo["goal"]["deadline"]},
    }

    response = await tenants.http.post("/v1/campaigns", json=body, headers=actor.headers)

    assert_problem(response, 403)
    listed = await tenants.http.get(
        "/v1/campaigns", params={"organization_id": tenants.lead.id}, headers=tenants.lead.headers
    )
    assert "Not a lead's campaign" not in listed.text


@pytest.mark.parametrize(
    ("who", "whose"),
    [
        ("outsider", "owner"),
        ("outsider_client", "owner"),
        ("owner", "lead"),
        ("member", "owner"),
        ("no_scope", "owner"),
    ],
)
async def test_an_organizations_campaigns_are_listed_only_to_its_own(
    tenants: Tenants, who: str, whose: str
) -> None:
    headers = {
        "outsider_client": bearer(tenants.outsider_client),
        "no_scope": bearer(tenants.owner_clients["coalitions:read"]),
    }.get(who) or getattr(tenants, who).headers

    response = await tenants.http.get(
        "/v1/campaigns", params={"organization_id": getattr(tenants, whose).id}, headers=headers
    )

    refused_without_leaking(response, 403, tenants)


@pytest.mark.parametrize(
    ("who", "sees", "does_not_see"),
    [
        ("owner_member", {"solo", "draft", "archived"}, {"joint"}),
        ("member", {"joint"}, {"solo", "draft", "archived"}),
        ("observer", {"joint"}, {"solo", "draft", "archived"}),
        ("outsider", set(), {"solo", "joint", "draft", "archived"}),
    ],
)
async def test_an_organizations_list_holds_its_own_and_its_coalitions_campaigns_only(
    tenants: Tenants, who: str, sees: set[str], does_not_see: set[str]
) -> None:
    person = getattr(tenants, who)
    org = {"owner_member": tenants.owner, "member": tenants.member, "observer": tenants.observer}.get(
        who, tenants.outsider
    )
    listed = await tenants.http.get(
        "/v1/campaigns", params={"organization_id": org.id, "limit": 100}, headers=person.headers
    )

    assert listed.status_code == 200, listed.text
    ids = {c["id"] for c in listed.json()["items"]}
    assert {getattr(tenants, w)["id"] for w in sees} <= ids
    assert not {getattr(tenants, w)["id"] for w in does_not_see} & ids


# ---- the public routes -----------------------------------------------------------------------------------

# Each action endpoint with the fields a valid request adds to the supporter and consents.
ACTIONS: dict[str, dict[str, Any]] = {
    "signatures": {},
    "letters": {},
    "rsvps": {},
    "checkins": {},
    "stories": {"title": "A story", "body": "It took years.", "name_form": "anonymous"},
    "shares": {"platform": "email"},
}


@pytest.mark.parametrize("which", ["draft", "archived"])
async def test_drafts_and_archived_campaigns_are_not_found_on_their_public_link(
    tenants: Tenants, which: str
) -> None:
    campaign = getattr(tenants, which)
    ref = getattr(tenants, f"{which}_ref")
    before = await snapshot(tenants, campaign["id"])

    page = await tenants.http.get(f"/v1/public/links/{ref}")
    stories = await tenants.http.get(f"/v1/public/campaigns/{campaign['id']}/stories")
    actions = [await tenants.world.act(ref, path, **fields) for path, fields in ACTIONS.items()]

    for response in (page, stories):
        refused_without_leaking(response, 404, tenants)
    for response in actions:  # the service says why an action is refused on a link its holder knows
        refused_without_leaking(response, 404 if response.status_code == 404 else 409, tenants)
    assert campaign["title"] not in page.text
    assert await snapshot(tenants, campaign["id"]) == before


async def test_a_public_page_shows_no_supporter_and_no_other_organizations_link(tenants: Tenants) -> None:
    ref = await tenants.world.link_of(tenants.joint["id"], tenants.member)

    page = await tenants.http.get(f"/v1/public/links/{ref}")

    assert page.status_code == 200, page.text
    assert page.json()["organization_id"] == tenants.member.id
    for secret in (tenants.member_supporter, tenants.lead_supporter, "@example.net"):
        assert secret not in page.text
    lead_ref = await tenants.world.link_of(tenants.joint["id"], tenants.lead)
    assert lead_ref not in page.text


async def test_unpublished_stories_are_not_public(tenants: Tenants) -> None:
    response = await tenants.http.get(f"/v1/public/campaigns/{tenants.solo['id']}/stories")

    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert tenants.story_id not in response.text


@pytest.mark.parametrize(
    "path",
    ["/v1/public/supporter", "/v1/public/supporter/consent-withdrawals", "/v1/public/supporter/erasure"],
)
async def test_a_supporter_token_is_not_forged_from_another_supporters_id(
    tenants: Tenants, path: str
) -> None:
    """The token's first part is the supporter id: another id with any signature is refused."""
    db = tenants.world.service.repo.db
    before = await db["supporters"].find_one({"_id": uuid.UUID(tenants.owner_supporter)})
    forged = f"{uuid.UUID(tenants.owner_supporter).hex}.{'A' * 43}"
    body: dict[str, Any] = {"token": forged}
    if path.endswith("withdrawals"):
        body["purposes"] = ["contact_by_organization"]

    response = await tenants.http.post(path, json=body)

    refused_without_leaking(response, 401, tenants)
    assert await db["supporters"].find_one({"_id": uuid.UUID(tenants.owner_supporter)}) == before


async def test_a_confirmation_link_is_not_forged_from_a_held_actions_id(tenants: Tenants) -> None:
    """The held action's id travels on Kafka; its link's token needs the link signing secret too."""
    world = tenants.world
    campaign = await world.launched(tenants.owner, double_opt_in=True)
    ref = await world.link_of(campaign["id"], tenants.owner)
    held = await world.act(ref)
    assert held.status_code == 202, held.text
    action_id = uuid.UUID(held.json()["action"]["id"])
    before = await snapshot(tenants, campaign["id"])
    pending = await world.service.repo.db["pending_actions"].find_one({"_id": action_id})

    for secret in (
        "another-deployments-link-signing-secret",
        "development-only-supporter-secret-not-for-production",
    ):
        forged = derive_link_token(secret, ACTION_CONFIRMATION, action_id)
        response = await tenants.http.post("/v1/public/confirmations", json={"token": forged})
        refused_without_leaking(response, 404, tenants)
    pages = derive_link_token(
        "another-deployments-link-signing-secret", SUPPORTER_PAGES, pending["supporter_ref"]
    )
    refused_without_leaking(
        await tenants.http.post("/v1/public/supporter", json={"token": pages}), 404, tenants
    )
    assert await snapshot(tenants, campaign["id"]) == before
    assert await world.service.repo.db["pending_actions"].find_one({"_id": action_id}) == pending
