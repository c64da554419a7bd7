"""Access ends when it is revoked: a token issued before its API client was revoked, or before its user
was removed from the organization or demoted, is refused once the coalition service has consumed the
event, on every authenticated route; not when the token expires."""

from __future__ import annotations

import logging

import httpx
from coalition_world import CoalitionWorld

from common.testing.access import IdentityActions, authenticated_routes, call, client_status_is, role_is

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
