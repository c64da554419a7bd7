"""Access ends when it is revoked, and webhook endpoints say who created them: a token issued before its
API client was revoked, or its user removed or demoted, is refused once the event is consumed; the
organization's admins hear of every new endpoint; an endpoint whose creator loses access is held for
review (its messages kept, not delivered) until an admin confirms it."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from identity_api import Person
from notifications_world import NotificationsWorld, Org

from common.contracts import campaigns as camp
from common.events import CloudEvent
from common.testing.access import IdentityActions, authenticated_routes, call, client_status_is, role_is
from eventually import eventually

log = logging.getLogger(__name__)
MANAGE = ["webhooks:manage"]
# Bodies that pass validation, so that what is refused is the caller, not the request.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "/v1/organizations/{org_id}/webhooks": {"url": "https://example.org/hook", "event_types": ["*"]},
    "/v1/webhooks/{endpoint_id}": {"description": "changed"},
    "/v1/webhooks/{endpoint_id}/replay": {"since": "2020-01-01T00:00:00Z"},
}


def _actions(world: NotificationsWorld) -> IdentityActions:
    return IdentityActions(world.identity.http)


async def _endpoint(
    world: NotificationsWorld, org: Org, headers: dict[str, str], path: str
) -> dict[str, Any]:
    body = {"url": world.receiver.url(path), "event_types": ["campaigns.*"]}
    created = await world.http.post(f"/v1/organizations/{org.id}/webhooks", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _campaign_event(world: NotificationsWorld, org: Org) -> CloudEvent:
    return await world.publish_and_wait(
        camp.CampaignCreated(
            campaign_id=uuid.uuid4(),
            owner_organization_id=org.uuid,
            kind="petition",
            title="Held for review",
            status="active",
            goal=camp.Goal(metric="actions", target=10, deadline=datetime(2030, 1, 1, tzinfo=UTC)),
        )
    )


async def _second_admin(world: NotificationsWorld, org: Org, name: str) -> Person:
    admin = await world.identity.add_member(org.id, org.admin, role="admin", name=name)
    await role_is(world.stack.app, admin.id, org.id, "admin")  # type: ignore[arg-type]
    return admin


async def test_a_revoked_client_is_refused_on_every_route(world: NotificationsWorld) -> None:
    org = await world.org("revoking")
    endpoint = await world.endpoint(org, "revoking")
    app = world.stack.app
    assert app is not None
    client_id, token = await _actions(world).client(org.id, org.headers, MANAGE)
    await client_status_is(app, client_id, "active")
    ids = {"org_id": org.id, "endpoint_id": endpoint["id"]}
    routes = authenticated_routes(app)
    assert routes
    for route in routes:
        before = await call(world.http, route, token, **ids)
        assert before.status_code != 401, (route, before.text)

    await _actions(world).revoke_client(org.id, org.headers, client_id)
    took = await client_status_is(app, client_id, "revoked")
    log.warning("notifications: the client's revocation was consumed %.3fs after identity answered", took)

    for route in routes:
        after = await call(world.http, route, token, **ids)
        assert after.status_code == 401, (route, after.text)


async def test_a_removed_admin_is_refused_on_every_route_of_the_organization(
    world: NotificationsWorld,
) -> None:
    org = await world.org("removing")
    app = world.stack.app
    assert app is not None
    admin = await _second_admin(world, org, "leaving")
    endpoint = await world.endpoint(org, "removing")
    seen = await world.http.get(f"/v1/webhooks/{endpoint['id']}", headers=admin.headers)
    assert seen.status_code == 200, seen.text

    await _actions(world).remove_member(org.id, org.headers, admin.id)
    took = await role_is(app, admin.id, org.id, None)
    log.warning("notifications: the member's removal was consumed %.3fs after identity answered", took)

    organizational = [
        r for r in authenticated_routes(app) if "{org_id}" in r.path or "{endpoint_id}" in r.path
    ]
    assert organizational
    for route in organizational:
        after = await call(
            world.http,
            route,
            admin.token,
            body=VALID_BODIES.get(route.path),
            org_id=org.id,
            endpoint_id=endpoint["id"],
        )
        assert after.status_code == 403 or (
            after.status_code == 404 and "webhook endpoint" in after.json()["detail"]
        ), (route, after.text)


async def test_a_demoted_admin_no_longer_manages_webhooks(world: NotificationsWorld) -> None:
    org = await world.org("demoting")
    app = world.stack.app
    assert app is not None
    admin = await _second_admin(world, org, "demoted")
    endpoint = await world.endpoint(org, "demoting")

    await _actions(world).change_role(org.id, org.headers, admin.id, "organizer")
    took = await role_is(app, admin.id, org.id, "organizer")
    log.warning("notifications: the demotion was consumed %.3fs after identity answered", took)

    listed = await world.http.get(f"/v1/organizations/{org.id}/webhooks", headers=admin.headers)
    assert listed.status_code == 403, listed.text
    deleted = await world.http.delete(f"/v1/webhooks/{endpoint['id']}", headers=admin.headers)
    assert deleted.status_code == 404, deleted.text


async def test_an_endpoint_says_who_created_it_and_the_admins_hear_of_it(world: NotificationsWorld) -> None:
    org = await world.org("creating")
    admin = await _second_admin(world, org, "creator")

    endpoint = await _endpoint(world, org, admin.headers, "created")

    assert endpoint["created_by"] == {"kind": "user", "id": admin.id, "organization_id": org.id}
    assert endpoint["needs_review"] is False
    feed = await world.http.get("/v1/me/notices", headers=org.headers)
    assert feed.status_code == 200, feed.text
    titles = [n["title"] for n in feed.json()["items"]]
    assert any("webhook endpoint was added" in t for t in titles), titles
    await eventually(lambda: bool(world.mails_to(org.admin.email)), within=60, message="the owner's e-mail")


async def test_an_endpoint_created_by_a_client_names_the_client(world: NotificationsWorld) -> None:
    org = await world.org("client-created")
    app = world.stack.app
    assert app is not None
    client_id, token = await _actions(world).client(org.id, org.headers, MANAGE)
    await client_status_is(app, client_id, "active")

    endpoint = await _endpoint(world, org, {"Authorization": f"Bearer {token}"}, "client-created")

    assert endpoint["created_by"] == {"kind": "client", "id": client_id, "organization_id": org.id}


async def test_the_endpoint_of_a_removed_admin_is_held_until_an_admin_confirms_it(
    world: NotificationsWorld,
) -> None:
    org = await world.org("reviewing")
    app = world.stack.app
    assert app is not None
    admin = await _second_admin(world, org, "departing")
    endpoint = await _endpoint(world, org, admin.headers, "reviewed")

    await _actions(world).remove_member(org.id, org.headers, admin.id)
    await role_is(app, admin.id, org.id, None)
    read = await world.http.get(f"/v1/webhooks/{endpoint['id']}", headers=org.headers)
    assert read.json()["needs_review"] is True, read.text
    assert read.json()["review_reason"] == "creator_removed"
    feed = await world.http.get("/v1/me/notices", headers=org.headers)
    assert any("needs your review" in n["title"] for n in feed.json()["items"]), feed.text

    event = await _campaign_event(world, org)
    held = await world.message(endpoint["id"], event.id)
    assert held is not None
    assert held["paused"] is True
    assert held["status"] == "pending"
    tested = await world.http.post(f"/v1/webhooks/{endpoint['id']}/test", headers=org.headers)
    assert tested.status_code == 409, tested.text

    confirmed = await world.http.post(f"/v1/webhooks/{endpoint['id']}/confirm", headers=org.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["needs_review"] is False
    await world.wait_status(str(held["_id"]), "succeeded")


async def test_the_endpoint_of_a_revoked_client_is_flagged(world: NotificationsWorld) -> None:
    org = await world.org("client-review")
    app = world.stack.app
    assert app is not None
    client_id, token = await _actions(world).client(org.id, org.headers, MANAGE)
    await client_status_is(app, client_id, "active")
    endpoint = await _endpoint(world, org, {"Authorization": f"Bearer {token}"}, "client-review")

    await _actions(world).revoke_client(org.id, org.headers, client_id)
    await client_status_is(app, client_id, "revoked")

    read = await world.http.get(f"/v1/webhooks/{endpoint['id']}", headers=org.headers)
    assert read.json()["needs_review"] is True, read.text
    assert read.json()["review_reason"] == "creator_client_revoked"
    by_client = await world.http.post(
        f"/v1/webhooks/{endpoint['id']}/confirm", headers={"Authorization": f"Bearer {token}"}
    )
    assert by_client.status_code == 401, by_client.text


async def test_an_endpoint_of_someone_who_stays_admin_is_not_flagged(world: NotificationsWorld) -> None:
    org = await world.org("staying")
    app = world.stack.app
    assert app is not None
    admin = await _second_admin(world, org, "promoted")
    endpoint = await _endpoint(world, org, admin.headers, "staying")

    await _actions(world).change_role(org.id, org.headers, admin.id, "owner")
    await role_is(app, admin.id, org.id, "owner")

    read = await world.http.get(f"/v1/webhooks/{endpoint['id']}", headers=org.headers)
    assert read.json()["needs_review"] is False, read.text
