"""Access ends when it is revoked: a token issued before its API client was revoked, or before its user
was removed from the organization or demoted, is refused once the coalition service has consumed the
event, on every authenticated route; not when the token expires."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from coalition_world import CoalitionWorld, Org
from fastapi import FastAPI
from identity_api import IdentityApi

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
SCOPES = ["coalitions:read", "coalitions:write"]


async def test_a_revoked_client_is_refused_on_every_route(world: CoalitionWorld) -> None:
    org = await world.org("revoking")
    actions = IdentityActions(world.identity.http)
    client_id, token = await actions.client(org.id, org.headers, SCOPES)
    await client_status_is(world.app, client_id, "active")
    routes = authenticated_routes(world.app)
    assert routes
    for route in routes:
        before = await call(world.http, route, token, org_id=org.id, organization_id=org.id)
        assert before.status_code != 401, (route, before.text)

    await actions.revoke_client(org.id, org.headers, client_id)
    took = await client_status_is(world.app, client_id, "revoked")
    log.warning("coalition: the client's revocation was consumed %.3fs after identity answered", took)

    for route in routes:
        after = await call(world.http, route, token, org_id=org.id, organization_id=org.id)
        assert after.status_code == 401, (route, after.text)
        assert 'error="invalid_token"' in after.headers["www-authenticate"], route


async def _coalition(world: CoalitionWorld, org_id: str, headers: dict[str, str]) -> httpx.Response:
    body = {
        "organization_id": org_id,
        "slug": f"c-{id(headers)}-{org_id[:8]}",
        "name": "Rare Lung Alliance",
        "mission": "Access to care",
        "focus_areas": ["rare lung disease"],
        "countries": ["BE"],
    }
    return await world.http.post("/v1/coalitions", json=body, headers=headers)


async def test_a_removed_admin_is_refused_with_the_token_they_still_hold(world: CoalitionWorld) -> None:
    org = await world.org("removing")
    admin = await world.identity.add_member(org.id, org.admin, role="admin", name="leaving")
    await role_is(world.app, admin.id, org.id, "admin")
    created = await _coalition(world, org.id, admin.headers)
    assert created.status_code == 201, created.text
    coalition_id = created.json()["id"]

    await IdentityActions(world.identity.http).remove_member(org.id, org.headers, admin.id)
    took = await role_is(world.app, admin.id, org.id, None)
    log.warning("coalition: the member's removal was consumed %.3fs after identity answered", took)

    assert (await _coalition(world, org.id, admin.headers)).status_code == 403
    changed = await world.http.patch(
        f"/v1/coalitions/{coalition_id}", json={"name": "Taken over"}, headers=admin.headers
    )
    assert changed.status_code in (403, 404), changed.text
    still = await world.http.patch(
        f"/v1/coalitions/{coalition_id}", json={"name": "Kept"}, headers=org.headers
    )
    assert still.status_code == 200, still.text


async def test_a_demoted_admin_is_refused_what_admins_do(world: CoalitionWorld) -> None:
    org = await world.org("demoting")
    admin = await world.identity.add_member(org.id, org.admin, role="admin", name="demoted")
    await role_is(world.app, admin.id, org.id, "admin")
    created = await _coalition(world, org.id, admin.headers)
    assert created.status_code == 201, created.text

    await IdentityActions(world.identity.http).change_role(org.id, org.headers, admin.id, "member")
    took = await role_is(world.app, admin.id, org.id, "member")
    log.warning("coalition: the demotion was consumed %.3fs after identity answered", took)

    assert (await _coalition(world, org.id, admin.headers)).status_code == 403
    changed = await world.http.patch(
        f"/v1/coalitions/{created.json()['id']}", json={"name": "Taken over"}, headers=admin.headers
    )
    assert changed.status_code == 403, changed.text


# ---- the revocation matrix: every route that acts for the organization, before and after -------------
#
# For a removed admin and for an admin demoted below what a route needs, every authenticated route is
# called twice with the token they hold: before the revocation, on resources of a world where their
# organization leads (or takes part in) coalitions, where it must be allowed (not 401, 403 or 404: the
# route exercises the role); and after identity's event was consumed, on an identical world, where it must
# be refused (403 or 404, problem+json). The requests come from the tenant-isolation route tables, which
# know how to call every route; routes open to anyone signed in are classified below with a reason, and a
# guard fails when a route is neither swept nor classified.


TABLES: Any = sibling_module(__file__, "test_tenant_isolation", "coalition_revocation")
MANAGE: dict[str, Any] = TABLES.MANAGE
FOR_ITSELF: dict[str, Any] = TABLES.FOR_ITSELF
READ: dict[str, Any] = TABLES.READ
Key = tuple[str, str]
CREATE: Key = ("POST", "/v1/coalitions")
OF_ORGANIZATION: Key = ("GET", "/v1/organizations/{org_id}/coalitions")

# The state of the target organization's membership in a coalition the acting organization leads, per
# lead action (None: no membership), so that the lead action is valid.
MANAGED_STATE: dict[str, str | None] = {
    "update the profile": None,
    "archive": None,
    "invite": None,
    "approve": "applied",
    "reject": "applied",
    "suspend": "active",
    "reinstate": "suspended",
    "change a role": "active",
    "remove": "active",
    "change a sharing agreement": "active",
}
# The state of the acting organization's own membership in a coalition another organization leads.
OWN_STATE: dict[str, str | None] = {
    "apply": None,
    "accept": "invited",
    "decline": "invited",
    "leave": "active",
    "accept a sharing proposal": "proposed",
    "decline a sharing proposal": "proposed",
}
SWEPT: set[Key] = {a.key for table in (MANAGE, FOR_ITSELF, READ) for a in table.values()} | {CREATE}
# Routes open to anyone signed in (or anonymous), whatever their organization: not refused, by design.
OPEN: dict[Key, str] = {
    OF_ORGANIZATION: (
        "an organization's coalitions are listed to anyone (its public ones); its own people see the "
        "private ones too: a removal narrows the list, it does not refuse it (checked below)"
    ),
}
DEMOTED_TO = "organizer"  # just below admin, which every swept route but the reads needs
# Swept routes a demotion to DEMOTED_TO keeps: they need only a membership (any role) of an involved
# organization. Checked to stay allowed after the demotion.
DEMOTION_KEEPS: dict[Key, str] = {
    a.key: "the people of an involved organization (any role) read the coalition and its members"
    for a in READ.values()
}
# Routes found not refused after the revocation (real gaps): key -> what happens. Empty: none found.
GAPS: dict[Key, str] = {}


@dataclass
class Matrix:
    """The acting organization (whose admins lose access), a partner that leads coalitions the acting
    organization takes part in, and a target that the acting organization manages in its own."""

    world: CoalitionWorld
    acting: Org
    partner: Org
    target: Org

    async def led(self, state: str | None, *, visibility: str = "private") -> str:
        """A new coalition led by the acting organization, the target's membership in `state`."""
        world, lead, target = self.world, self.acting, self.target
        cid = str((await world.coalition(lead, visibility=visibility))["id"])
        if state in ("active", "suspended"):
            await world.member(cid, lead, target)
        if state == "suspended":
            suspended = await world.post(f"/v1/coalitions/{cid}/memberships/{target.id}/suspend", lead)
            assert suspended.status_code == 200, suspended.text
        if state == "applied":
            applied = await world.post(
                f"/v1/coalitions/{cid}/applications", target, {"organization_id": target.id}
            )
            assert applied.status_code == 201, applied.text
        return cid

    async def joined(self, state: str | None, *, visibility: str = "private") -> str:
        """A new coalition led by the partner, the acting organization's membership in `state`."""
        world, lead, acting = self.world, self.partner, self.acting
        cid = str((await world.coalition(lead, visibility=visibility))["id"])
        if state == "invited":
            invited = await world.invite(cid, lead, acting)
            assert invited.status_code == 201, invited.text
        if state in ("active", "proposed"):
            await world.member(cid, lead, acting)
        if state == "proposed":
            proposed = await world.http.put(
                f"/v1/coalitions/{cid}/memberships/{acting.id}/sharing",
                json={"level": "contacts_with_consent"},
                headers=lead.headers,
            )
            assert proposed.status_code == 200, proposed.text
            assert proposed.json()["sharing_proposal"] is not None, proposed.text
        return cid

    async def stage(self) -> tuple[dict[Key, Call], str]:
        """A valid request for every swept route (fresh resources), and a private coalition of the
        acting organization."""
        calls: dict[Key, Call] = {}
        for name, attempt in MANAGE.items():
            state = MANAGED_STATE[name]
            cid = await self.led(state, visibility="public" if state == "applied" else "private")
            calls[attempt.key] = Call(*attempt.request(cid, self.target.id, invitee=self.target.id))
        for name, attempt in FOR_ITSELF.items():
            cid = await self.joined(OWN_STATE[name], visibility="public" if name == "apply" else "private")
            calls[attempt.key] = Call(*attempt.request(cid, self.acting.id, invitee=self.acting.id))
        private = await self.led(None)
        for attempt in READ.values():
            calls[attempt.key] = Call(*attempt.request(private, self.target.id, invitee=self.target.id))
        calls[CREATE] = Call(
            "POST",
            "/v1/coalitions",
            {
                "organization_id": self.acting.id,
                "slug": f"c-{uuid.uuid4().hex[:10]}",
                "name": "Rare Lung Alliance",
                "mission": "Access to care",
            },
        )
        return calls, private


@dataclass
class Outcome:
    """Every swept route before and after the revocation, and the organization's list of coalitions."""

    before: dict[Key, Seen]
    after: dict[Key, Seen]
    listed_before: tuple[Seen, str]  # the list, and the private coalition that must be in it
    listed_after: tuple[Seen, str]


async def _sweep(
    matrix: Matrix, who: str, revoke: Callable[[str], Awaitable[None]], role_after: str | None
) -> Outcome:
    world, acting = matrix.world, matrix.acting
    person = await world.identity.add_member(acting.id, acting.admin, role="admin", name=who)
    await role_is(world.app, person.id, acting.id, "admin")
    (before_calls, before_private), (after_calls, after_private) = await matrix.stage(), await matrix.stage()
    assert set(before_calls) == SWEPT
    listed = f"/v1/organizations/{acting.id}/coalitions"

    before = await seen_all(world.http, person.token, before_calls)
    listed_before = Seen.of(await world.http.get(listed, headers=person.headers), limit=None)
    await revoke(person.id)
    took = await role_is(world.app, person.id, acting.id, role_after)
    log.warning("coalition: the %s was consumed %.3fs after identity answered", who, took)
    after = await seen_all(world.http, person.token, after_calls)
    listed_after = Seen.of(await world.http.get(listed, headers=person.headers), limit=None)
    return Outcome(before, after, (listed_before, before_private), (listed_after, after_private))


@pytest.fixture(scope="module")
async def matrix(
    identity_http: httpx.AsyncClient, coalition_http: httpx.AsyncClient, coalition_app: FastAPI
) -> Matrix:
    world = CoalitionWorld(IdentityApi(identity_http), coalition_http, coalition_app)
    acting, partner, target = [await world.org(name) for name in ("acting", "partner", "target")]
    return Matrix(world, acting, partner, target)


@pytest.fixture(scope="module")
async def removal(matrix: Matrix) -> Outcome:
    actions = IdentityActions(matrix.world.identity.http)

    async def remove(user_id: str) -> None:
        await actions.remove_member(matrix.acting.id, matrix.acting.headers, user_id)

    return await _sweep(matrix, "removal", remove, None)


@pytest.fixture(scope="module")
async def demotion(matrix: Matrix) -> Outcome:
    actions = IdentityActions(matrix.world.identity.http)

    async def demote(user_id: str) -> None:
        await actions.change_role(matrix.acting.id, matrix.acting.headers, user_id, DEMOTED_TO)

    return await _sweep(matrix, "demotion", demote, DEMOTED_TO)


def test_every_authenticated_route_is_swept_or_classified(coalition_app: FastAPI) -> None:
    routes = {(r.method, r.path) for r in authenticated_routes(coalition_app)}

    assert not SWEPT & set(OPEN)
    assert set(DEMOTION_KEEPS) <= SWEPT
    assert set(MANAGED_STATE) == set(MANAGE)
    assert set(OWN_STATE) == set(FOR_ITSELF)
    assert routes == SWEPT | set(OPEN), (
        "a route is neither swept nor classified: give it a request in the tenant-isolation tables (and a "
        "state here), or classify it in OPEN with a reason",
        sorted(routes ^ (SWEPT | set(OPEN))),
    )


@pytest.mark.parametrize("key", swept_params(SWEPT, GAPS))
async def test_a_removed_admins_earlier_token_is_refused_on_every_route(removal: Outcome, key: Key) -> None:
    before, after = removal.before[key], removal.after[key]

    assert before.allowed, f"before the removal the token must be allowed: {before}"
    assert after.refused, f"after the removal was consumed the token must be refused: {after}"


@pytest.mark.parametrize("key", swept_params(SWEPT - set(DEMOTION_KEEPS), GAPS))
async def test_a_demoted_admins_earlier_token_is_refused_what_admins_do(demotion: Outcome, key: Key) -> None:
    before, after = demotion.before[key], demotion.after[key]

    assert before.allowed, f"before the demotion the token must be allowed: {before}"
    assert after.refused, f"after the demotion was consumed the token must be refused: {after}"


@pytest.mark.parametrize("key", swept_params(set(DEMOTION_KEEPS), GAPS))
async def test_a_demoted_admin_keeps_what_any_member_does(demotion: Outcome, key: Key) -> None:
    before, after = demotion.before[key], demotion.after[key]

    assert before.allowed, before
    assert after.allowed, f"{DEMOTION_KEEPS[key]}; yet: {after}"


async def test_a_removed_admin_no_longer_sees_the_organizations_private_coalitions(removal: Outcome) -> None:
    (before, before_private), (after, after_private) = removal.listed_before, removal.listed_after

    assert before.status == 200, before
    assert before_private in before.text
    assert after.status == 200, after  # the list is public: narrowed, not refused
    assert after_private not in after.text
