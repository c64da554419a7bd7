"""Access ends when it is revoked, and webhook endpoints say who created them: a token issued before its
API client was revoked, or its user removed or demoted, is refused once the event is consumed; the
organization's admins hear of every new endpoint; an endpoint whose creator loses access is held for
review (its messages kept, not delivered) until an admin confirms it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from identity_api import Person
from notifications_world import NotificationsWorld, Org

from common.contracts import campaigns as camp
from common.events import CloudEvent
from common.testing.access import (
    Call,
    IdentityActions,
    Seen,
    authenticated_routes,
    call,
    client_status_is,
    role_is,
    seen_all,
    swept_params,
)
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


# ---- the revocation matrix: every route that acts for the organization, before and after -------------
#
# For a removed admin and for an admin demoted below admin, every authenticated route of an organization's
# webhooks is called twice with the token they hold: before the revocation, on an endpoint of their
# organization with a delivered message (created by its owner, so nothing is put under review), where it
# must be allowed (not 401, 403 or 404: the route exercises the role); and after identity's event was
# consumed, on an identical endpoint, where it must be refused (403 or 404, problem+json). The caller's
# own notices and preferences are classified below with a reason; a guard fails when a route is neither
# swept nor classified.

Key = tuple[str, str]
ORG_HOOKS = "/v1/organizations/{org_id}/webhooks"
HOOK = "/v1/webhooks/{endpoint_id}"
MESSAGE = HOOK + "/messages/{message_id}"
# Every route of an organization's webhooks, with a body that passes validation (None: no body).
SWEPT_BODIES: dict[Key, Any] = {
    ("POST", ORG_HOOKS): "a new endpoint",  # the receiver's URL, filled in per stage
    ("GET", ORG_HOOKS): None,
    ("GET", HOOK): None,
    ("PATCH", HOOK): {"description": "changed"},
    ("DELETE", HOOK): None,  # on an endpoint of its own, the others stay
    ("POST", HOOK + "/secret/rotate"): None,
    ("POST", HOOK + "/confirm"): None,
    ("GET", HOOK + "/messages"): None,
    ("GET", MESSAGE + "/attempts"): None,
    ("POST", MESSAGE + "/retry"): None,
    ("POST", HOOK + "/replay"): {"since": "2020-01-01T00:00:00Z"},
    ("POST", HOOK + "/test"): None,
    ("GET", HOOK + "/stats"): None,
}
SWEPT: set[Key] = set(SWEPT_BODIES)
PERSONAL = "the caller's own notices and preferences: about the person, not an organization's"
OPEN: dict[Key, str] = {
    ("GET", "/v1/me/notices"): PERSONAL,
    ("GET", "/v1/me/notices/unread-count"): PERSONAL,
    ("POST", "/v1/me/notices/{notice_id}/read"): PERSONAL,
    ("POST", "/v1/me/notices/read"): PERSONAL,
    ("GET", "/v1/me/preferences"): PERSONAL,
    ("PATCH", "/v1/me/preferences"): PERSONAL,
    (
        "GET",
        "/v1/sent-messages",
    ): "an organizer (the demoted role) still manages campaigns and reads their sent "
    "mail; a member who lost the manager role is refused: test_decision_makers.py",
}
DEMOTED_TO = "organizer"  # just below admin, which every swept route needs
# Routes found not refused after the revocation (real gaps): key -> what happens. Empty: none found.
GAPS: dict[Key, str] = {}


async def _stage(world: NotificationsWorld, org: Org) -> dict[Key, Call]:
    """A valid request for every swept route: an endpoint of the organization with a delivered message,
    and another endpoint to delete."""
    endpoint = (await world.endpoint(org, f"matrix-{uuid.uuid4().hex[:8]}"))["id"]
    doomed = (await world.endpoint(org, f"matrix-{uuid.uuid4().hex[:8]}"))["id"]
    message = (await world.send_test(org, endpoint))["id"]
    await world.wait_status(message, "succeeded")  # a finished message is retried
    calls: dict[Key, Call] = {}
    for (method, route), body in SWEPT_BODIES.items():
        if body == "a new endpoint":
            body = {"url": world.receiver.url(f"matrix-{uuid.uuid4().hex[:8]}"), "event_types": ["*"]}
        path = route.format(
            org_id=org.id,
            endpoint_id=doomed if method == "DELETE" else endpoint,
            message_id=message,
        )
        calls[(method, route)] = Call(method, path, body)
    return calls


async def _sweep(
    world: NotificationsWorld, who: str, revoke: Callable[[Org, str], Awaitable[None]], role_after: str | None
) -> tuple[dict[Key, Seen], dict[Key, Seen]]:
    app = world.stack.app
    assert app is not None
    org = await world.org(f"matrix-{who}")
    person = await _second_admin(world, org, who)
    before_calls, after_calls = await _stage(world, org), await _stage(world, org)

    before = await seen_all(world.http, person.token, before_calls)
    await revoke(org, person.id)
    took = await role_is(app, person.id, org.id, role_after)
    log.warning("notifications: the %s was consumed %.3fs after identity answered", who, took)
    after = await seen_all(world.http, person.token, after_calls)
    return before, after


@pytest.fixture(scope="module")
async def removal(world_for_module: NotificationsWorld) -> tuple[dict[Key, Seen], dict[Key, Seen]]:
    async def remove(org: Org, user_id: str) -> None:
        await _actions(world_for_module).remove_member(org.id, org.headers, user_id)

    return await _sweep(world_for_module, "removal", remove, None)


@pytest.fixture(scope="module")
async def demotion(world_for_module: NotificationsWorld) -> tuple[dict[Key, Seen], dict[Key, Seen]]:
    async def demote(org: Org, user_id: str) -> None:
        await _actions(world_for_module).change_role(org.id, org.headers, user_id, DEMOTED_TO)

    return await _sweep(world_for_module, "demotion", demote, DEMOTED_TO)


def test_every_authenticated_route_is_swept_or_classified(world_for_module: NotificationsWorld) -> None:
    app = world_for_module.stack.app
    assert app is not None
    routes = {(r.method, r.path) for r in authenticated_routes(app)}

    assert not SWEPT & set(OPEN)
    assert routes == SWEPT | set(OPEN), (
        "a route is neither swept nor classified: give it a body in SWEPT_BODIES, or classify it in OPEN "
        "with a reason",
        sorted(routes ^ (SWEPT | set(OPEN))),
    )


@pytest.mark.parametrize("key", swept_params(SWEPT, GAPS))
async def test_a_removed_admins_earlier_token_is_refused_on_every_webhook_route(
    removal: tuple[dict[Key, Seen], dict[Key, Seen]], key: Key
) -> None:
    before, after = removal[0][key], removal[1][key]

    assert before.allowed, f"before the removal the token must be allowed: {before}"
    assert after.refused, f"after the removal was consumed the token must be refused: {after}"


@pytest.mark.parametrize("key", swept_params(SWEPT, GAPS))
async def test_a_demoted_admins_earlier_token_is_refused_on_every_webhook_route(
    demotion: tuple[dict[Key, Seen], dict[Key, Seen]], key: Key
) -> None:
    before, after = demotion[0][key], demotion[1][key]

    assert before.allowed, f"before the demotion the token must be allowed: {before}"
    assert after.refused, f"after the demotion was consumed the token must be refused: {after}"
