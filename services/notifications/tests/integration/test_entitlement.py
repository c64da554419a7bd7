"""Who receives what: the entitlement matrix over real Kafka, and SSRF refusals at registration and delivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from notifications_world import NotificationsWorld, Org
from webhook_receiver import Answer

from common.contracts import campaigns as camp
from common.contracts import coalition as coal
from common.events import CloudEvent
from eventually import eventually

GOAL = camp.Goal(metric="actions", target=100, deadline=datetime(2030, 1, 1, tzinfo=UTC))
CONTACT = camp.SupporterContact(email="pat@example.net", first_name="Pat")


def _joined(coalition_id: uuid.UUID, org: Org, role: str) -> coal.MembershipJoined:
    return coal.MembershipJoined(
        coalition_id=coalition_id,
        organization_id=org.uuid,
        role=role,
        state="active",  # type: ignore[arg-type]
        sharing_level="contacts_with_consent",
    )


def _action(
    campaign_id: uuid.UUID, coalition_id: uuid.UUID, owner: Org, attributed: Org, shared: bool
) -> Any:
    return camp.ActionRecorded(
        campaign_id=campaign_id,
        owner_organization_id=owner.uuid,
        coalition_id=coalition_id,
        action_id=uuid.uuid4(),
        kind="signature",
        organization_id=attributed.uuid,
        supporter_id=uuid.uuid4(),
        counts={"signature": 1},
        organization_counts={"signature": 1},
        unique_supporters=1,
        contact=CONTACT,
        contact_shared_with_coalition=shared,
    )


@pytest.fixture(scope="module")
async def coalition_world(world_for_module: NotificationsWorld) -> dict[str, Any]:
    """Owner (a lead), adopter (outside the coalition), member, observer, outsider, each with an endpoint."""
    w = world_for_module
    orgs = {name: await w.org(name) for name in ("owner", "adopter", "member", "observer", "outsider")}
    coalition_id, campaign_id = uuid.uuid4(), uuid.uuid4()
    for name, role in (("owner", "lead"), ("member", "member"), ("observer", "observer")):
        await w.publish_and_wait(_joined(coalition_id, orgs[name], role))
    await w.publish_and_wait(
        camp.CampaignAdopted(
            campaign_id=campaign_id,
            owner_organization_id=orgs["owner"].uuid,
            coalition_id=coalition_id,
            organization_id=orgs["adopter"].uuid,
        )
    )
    endpoints = {
        name: await w.endpoint(org, f"ent-{name}-{uuid.uuid4().hex[:6]}") for name, org in orgs.items()
    }
    return {"orgs": orgs, "endpoints": endpoints, "coalition_id": coalition_id, "campaign_id": campaign_id}


async def _receivers(w: NotificationsWorld, setup: dict[str, Any], event: CloudEvent) -> dict[str, Any]:
    """Which endpoints got a message for `event`, and whether its data kept the contact."""
    await w.processed(event)
    got: dict[str, Any] = {}
    for name, endpoint in setup["endpoints"].items():
        message = await w.message(endpoint["id"], event.id)
        if message is not None:
            got[name] = "contact" if message["payload"]["data"].get("contact") else "no contact"
    return got


async def test_public_campaign_event_reaches_owner_adopter_members_and_observers(
    world_for_module: NotificationsWorld, coalition_world: dict[str, Any]
) -> None:
    s = coalition_world
    event = await world_for_module.publish(
        camp.CampaignLaunched(
            campaign_id=s["campaign_id"],
            owner_organization_id=s["orgs"]["owner"].uuid,
            coalition_id=s["coalition_id"],
            status="active",
            previous_status="draft",
        )
    )
    assert await _receivers(world_for_module, s, event) == {
        "owner": "no contact",
        "adopter": "no contact",
        "member": "no contact",
        "observer": "no contact",
    }


async def test_contact_goes_only_to_the_consented_organization_when_not_shared(
    world_for_module: NotificationsWorld, coalition_world: dict[str, Any]
) -> None:
    s = coalition_world
    o = s["orgs"]
    event = await world_for_module.publish(
        _action(s["campaign_id"], s["coalition_id"], o["owner"], o["adopter"], False)
    )
    assert await _receivers(world_for_module, s, event) == {
        "owner": "no contact",
        "adopter": "contact",
        "member": "no contact",
    }


async def test_contact_shared_with_the_coalition_reaches_leads_and_members_never_observers(
    world_for_module: NotificationsWorld, coalition_world: dict[str, Any]
) -> None:
    s = coalition_world
    o = s["orgs"]
    event = await world_for_module.publish(
        _action(s["campaign_id"], s["coalition_id"], o["owner"], o["member"], True)
    )
    assert await _receivers(world_for_module, s, event) == {
        "owner": "contact",
        "adopter": "no contact",
        "member": "contact",
    }


async def test_private_coalition_event_skips_observers_and_outsiders(
    world_for_module: NotificationsWorld, coalition_world: dict[str, Any]
) -> None:
    s = coalition_world
    o = s["orgs"]
    event = await world_for_module.publish(
        coal.MembershipSuspended(
            coalition_id=s["coalition_id"],
            organization_id=o["member"].uuid,
            role="member",
            state="suspended",
            sharing_level="aggregate_only",
            reason="unpaid dues",
        )
    )
    assert await _receivers(world_for_module, s, event) == {"owner": "no contact", "member": "no contact"}


async def test_erasure_redacts_stored_contact(
    world_for_module: NotificationsWorld, coalition_world: dict[str, Any]
) -> None:
    s = coalition_world
    o = s["orgs"]
    action = _action(s["campaign_id"], s["coalition_id"], o["owner"], o["adopter"], False)
    event = await world_for_module.publish(action)
    await world_for_module.processed(event)
    erased = await world_for_module.publish(
        camp.SupporterErased(
            campaign_id=s["campaign_id"],
            owner_organization_id=o["owner"].uuid,
            coalition_id=s["coalition_id"],
            supporter_id=action.supporter_id,
            organization_id=o["adopter"].uuid,
            requested_by="supporter",
        )
    )
    await world_for_module.processed(erased)
    message = await world_for_module.message(s["endpoints"]["adopter"]["id"], event.id)
    assert message is not None
    assert message["payload"]["data"]["contact"] is None
    assert message.get("redacted") is True


async def test_endpoint_filters_and_event_type_patterns(world: NotificationsWorld) -> None:
    org = await world.org("filtered")
    wanted, other = uuid.uuid4(), uuid.uuid4()
    only_wanted = await world.endpoint(
        org,
        f"filter-{uuid.uuid4().hex[:6]}",
        event_types=["campaigns.campaign.*"],
        campaign_ids=[str(wanted)],
    )
    only_actions = await world.endpoint(
        org, f"types-{uuid.uuid4().hex[:6]}", event_types=["campaigns.action.recorded"]
    )

    events = [
        await world.publish(
            camp.CampaignPaused(
                campaign_id=c, owner_organization_id=org.uuid, status="paused", previous_status="active"
            )
        )
        for c in (wanted, other)
    ]
    for event in events:
        await world.processed(event)
    assert await world.message(only_wanted["id"], events[0].id) is not None
    assert await world.message(only_wanted["id"], events[1].id) is None
    for event in events:
        assert await world.message(only_actions["id"], event.id) is None


REFUSED = [
    "http://10.1.2.3/hook",
    "http://192.168.1.10/hook",
    "http://172.16.0.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/",
    "http://[fc00::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://100.64.0.1/hook",
    "http://[fe80::1]/hook",
    "http://host-that-does-not-resolve.invalid/hook",
    "ftp://example.org/hook",
    "http://user:pw@127.0.0.1/hook",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_registration_refuses_unsafe_addresses(world_for_module: NotificationsWorld, url: str) -> None:
    org = await _one_org(world_for_module)
    response = await world_for_module.http.post(
        f"/v1/organizations/{org.id}/webhooks", json={"url": url, "event_types": ["*"]}, headers=org.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


_ORG: dict[str, Org] = {}


async def _one_org(w: NotificationsWorld) -> Org:
    if "org" not in _ORG:
        _ORG["org"] = await w.org("ssrf")
    return _ORG["org"]


async def test_delivery_rechecks_the_address_and_refuses_a_rebound_name(world: NotificationsWorld) -> None:
    org = await world.org("rebind")
    host = f"rebind-{uuid.uuid4().hex[:6]}.test"
    path = f"rebind-{uuid.uuid4().hex[:6]}"
    world.dns[host] = ["127.0.0.1"]
    endpoint = await world.endpoint(org, path, url=world.receiver.url(path, host=host))
    world.dns[host] = ["10.9.8.7"]

    sent = await world.send_test(org, endpoint["id"])
    await world.wait_status(sent["id"], "failed")

    assert world.receiver.requests(path) == []
    attempts = (
        await world.http.get(
            f"/v1/webhooks/{endpoint['id']}/messages/{sent['id']}/attempts", headers=org.headers
        )
    ).json()
    assert attempts
    assert all("private address" in a["error"] for a in attempts)
    world.dns[host] = ["127.0.0.1"]
    ok = await world.send_test(org, endpoint["id"])
    await world.wait_status(ok["id"], "succeeded")
    assert len(world.receiver.requests(path)) == 1


async def test_endpoints_of_another_organization_are_invisible(world: NotificationsWorld) -> None:
    mine, theirs = await world.org("mine"), await world.org("theirs")
    endpoint = await world.endpoint(theirs, f"iso-{uuid.uuid4().hex[:6]}")
    assert (await world.http.get(f"/v1/webhooks/{endpoint['id']}", headers=mine.headers)).status_code == 404
    listed = await world.http.get(f"/v1/organizations/{theirs.id}/webhooks", headers=mine.headers)
    assert listed.status_code == 403
    created = await world.http.post(
        f"/v1/organizations/{theirs.id}/webhooks",
        json={"url": world.receiver.url("x"), "event_types": ["*"]},
        headers=mine.headers,
    )
    assert created.status_code == 403


async def test_a_member_who_is_not_admin_cannot_manage_webhooks(world: NotificationsWorld) -> None:
    org = await world.org("roles")
    organizer = await world.identity.add_member(org.id, org.admin, role="organizer", name="organizer")
    response = await world.http.post(
        f"/v1/organizations/{org.id}/webhooks",
        json={"url": world.receiver.url("x"), "event_types": ["*"]},
        headers=organizer.headers,
    )
    assert response.status_code == 403


async def test_stale_failing_endpoint_is_disabled(world: NotificationsWorld) -> None:
    org = await world.org("stale")
    path = f"stale-{uuid.uuid4().hex[:6]}"
    world.receiver.script(path, Answer(500))
    endpoint = await world.endpoint(org, path)
    # Arrange: the endpoint has been failing for six days.
    await world.db["endpoints"].update_one(
        {"_id": uuid.UUID(endpoint["id"])}, {"$set": {"failing_since": datetime.now(UTC) - timedelta(days=6)}}
    )
    sent = await world.send_test(org, endpoint["id"])
    await world.wait_status(sent["id"], "failed")

    read = (await world.http.get(f"/v1/webhooks/{endpoint['id']}", headers=org.headers)).json()
    assert read["enabled"] is False
    assert read["disabled_reason"] == "failing"
    await eventually(lambda: len(world.mails_to(org.admin.email)) == 1, message="the disabled e-mail")
