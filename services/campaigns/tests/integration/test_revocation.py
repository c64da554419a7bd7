"""Access ends when it is revoked: a token issued before its API client was revoked, or before its user
was removed from the organization or demoted, is refused once the campaigns service has consumed the
event, on every authenticated route; not when the token expires."""

from __future__ import annotations

import logging

from campaigns_world import CampaignsWorld

from common.testing.access import IdentityActions, authenticated_routes, call, client_status_is, role_is

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
