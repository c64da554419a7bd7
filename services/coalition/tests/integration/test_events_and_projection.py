"""The coalition service's events on the real Kafka topics, and identity's events feeding its projection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from coalition_events import published
from coalition_world import CoalitionWorld, Org

from common.contracts import topics
from common.contracts.identity import OrganizationDeactivated, OrganizationUpdated
from common.events import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, make_event
from common.testing.infra import Infra
from eventually import eventually


def membership(coalition_id: str, org_id: str) -> str:
    return f"/v1/coalitions/{coalition_id}/memberships/{org_id}"


async def state_is(world: CoalitionWorld, coalition_id: str, org: Org, expected: str) -> bool:
    return await world.state_of(coalition_id, org.id) == expected


async def test_every_transition_publishes_its_event_in_order_as_cloudevents(
    world: CoalitionWorld, infra: Infra
) -> None:
    lead = await world.org("lead")
    invited, decliner, rejected, approved, expiring = [
        await world.org(name) for name in ("invited", "decliner", "rejected", "approved", "expiring")
    ]
    c = (await world.coalition(lead))["id"]

    async def ok(response: Any) -> None:
        assert response.status_code in (200, 201), response.text

    await ok(await world.invite(c, lead, invited))
    await ok(await world.post(membership(c, invited.id) + "/accept", invited))
    await ok(await world.invite(c, lead, decliner))
    await ok(await world.post(membership(c, decliner.id) + "/decline", decliner))
    await ok(await world.post(f"/v1/coalitions/{c}/applications", rejected, {"organization_id": rejected.id}))
    await ok(await world.post(membership(c, rejected.id) + "/reject", lead, {"reason": "off topic"}))
    await ok(await world.post(f"/v1/coalitions/{c}/applications", approved, {"organization_id": approved.id}))
    await ok(await world.post(membership(c, approved.id) + "/approve", lead))
    await ok(
        await world.http.patch(membership(c, invited.id), json={"role": "observer"}, headers=lead.headers)
    )
    await ok(await world.post(membership(c, invited.id) + "/suspend", lead, {"reason": "dues"}))
    await ok(await world.post(membership(c, invited.id) + "/reinstate", lead))
    await ok(
        await world.http.put(
            membership(c, approved.id) + "/sharing",
            json={"level": "contacts_with_consent"},
            headers=lead.headers,
        )
    )
    await ok(await world.post(membership(c, approved.id) + "/sharing/accept", approved))
    await ok(await world.post(membership(c, invited.id) + "/leave", invited))
    await ok(await world.http.delete(membership(c, approved.id), headers=lead.headers))
    await ok(await world.invite(c, lead, expiring, role="observer"))
    await world.app.state.coalition.repo.db["memberships"].update_one(
        {"coalition_id": uuid.UUID(c), "org_id": uuid.UUID(expiring.id)},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(minutes=1)}},
    )
    await eventually(lambda: state_is(world, c, expiring, "expired"), within=10, message="the expiry")
    await ok(await world.http.patch(f"/v1/coalitions/{c}", json={"name": "Renamed"}, headers=lead.headers))
    await ok(await world.post(f"/v1/coalitions/{c}/archive", lead))

    records = await published(world, infra, c)

    memberships = [r for r in records if r.topic == topics.COALITION_MEMBERSHIPS]
    coalitions = [r for r in records if r.topic == topics.COALITION_COALITIONS]
    m = "coalition.membership."
    assert [(r.type, r.data["organization_id"], r.data["role"], r.data["state"]) for r in memberships] == [
        (m + "joined", lead.id, "lead", "active"),
        (m + "invited", invited.id, "member", "invited"),
        (m + "joined", invited.id, "member", "active"),
        (m + "invited", decliner.id, "member", "invited"),
        (m + "invitation_declined", decliner.id, "member", "declined"),
        (m + "applied", rejected.id, "member", "applied"),
        (m + "application_rejected", rejected.id, "member", "rejected"),
        (m + "applied", approved.id, "member", "applied"),
        (m + "joined", approved.id, "member", "active"),
        (m + "role_changed", invited.id, "observer", "active"),
        (m + "suspended", invited.id, "observer", "suspended"),
        (m + "reinstated", invited.id, "observer", "active"),
        ("coalition.sharing_agreement.proposed", approved.id, "member", "active"),
        ("coalition.sharing_agreement.changed", approved.id, "member", "active"),
        (m + "left", invited.id, "observer", "left"),
        (m + "removed", approved.id, "member", "removed"),
        (m + "invited", expiring.id, "observer", "invited"),
        (m + "invitation_expired", expiring.id, "observer", "expired"),
    ]
    assert [r.type for r in coalitions] == [
        "coalition.coalition.created",
        "coalition.coalition.updated",
        "coalition.coalition.archived",
    ]
    by_type = {r.type: r.data for r in memberships}
    assert by_type[m + "role_changed"]["previous_role"] == "member"
    assert by_type[m + "application_rejected"]["reason"] == "off topic"
    assert by_type[m + "application_rejected"]["actor_organization_id"] == lead.id
    assert by_type[m + "invitation_expired"]["reason"] == "invitation_expired"
    proposed = by_type["coalition.sharing_agreement.proposed"]
    assert (proposed["sharing_level"], proposed["proposed_sharing_level"]) == (
        "aggregate_only",
        "contacts_with_consent",
    )
    assert proposed["proposed_by_user"] == lead.admin.id
    sharing = by_type["coalition.sharing_agreement.changed"]
    assert (sharing["previous_sharing_level"], sharing["sharing_level"]) == (
        "aggregate_only",
        "contacts_with_consent",
    )
    assert sharing["changed_by_user"] == approved.admin.id
    assert sharing["proposed_by_user"] == lead.admin.id
    assert coalitions[0].data["lead_organization_id"] == lead.id
    assert coalitions[1].data["changed_fields"] == ["name"]
    assert coalitions[1].data["name"] == "Renamed"


async def test_events_are_cloudevents_keyed_by_the_coalition(world: CoalitionWorld, infra: Infra) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    c = (await world.coalition(lead))["id"]
    await world.member(c, lead, member)

    records = await published(world, infra, c)

    assert len(records) == 4  # created; joined (lead); invited, joined (member)
    assert len({r.event["id"] for r in records}) == len(records)
    for record in records:
        CloudEvent.model_validate(record.event)
        assert record.key == c
        assert record.headers["content-type"] == CLOUDEVENTS_CONTENT_TYPE
        assert record.headers["ce-type"] == record.type
        assert record.headers["traceparent"].startswith("00-")
        assert record.event["specversion"] == "1.0"
        assert record.event["source"] == f"urn:{world.app.state.settings.deployment_id}:coalition"
        assert record.event["coalitionid"] == c
        assert record.event["subject"] == f"coalitions/{c}"
        assert record.event["dataschema"].endswith(f"/{record.type}/v1")
        assert record.data["coalition_id"] == c
        if record.topic == topics.COALITION_MEMBERSHIPS:
            assert record.event["orgid"] == record.data["organization_id"]


async def publish_identity_events(infra: Infra, key: str, *events: CloudEvent) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, enable_idempotence=False)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topics.IDENTITY_ORGANIZATIONS,
                value=event.to_bytes(),
                key=key.encode(),
                headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())],
            )
    finally:
        await producer.stop()


def identity_event(payload: OrganizationDeactivated | OrganizationUpdated) -> CloudEvent:
    org_id = str(payload.organization_id)
    return make_event(payload, source="urn:local:identity", subject=f"organizations/{org_id}", orgid=org_id)


async def test_a_deactivation_delivered_twice_suspends_each_membership_once(
    world: CoalitionWorld, infra: Infra
) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    first, second = (await world.coalition(lead))["id"], (await world.coalition(lead))["id"]
    await world.member(first, lead, member)
    await world.member(second, lead, member, role="observer")
    deactivated = identity_event(
        OrganizationDeactivated(
            organization_id=uuid.UUID(member.id), deactivated_by=uuid.uuid4(), reason="merged"
        )
    )
    marker = f"Renamed {uuid.uuid4().hex[:8]}"
    # Same key, so the marker arrives after both deliveries of the deactivation.
    after = identity_event(
        OrganizationUpdated(
            organization_id=uuid.UUID(member.id),
            slug="merged-org",
            name=marker,
            kind="patient_association",
            country="DE",
            changed_fields=["name"],
        )
    )

    await publish_identity_events(infra, member.id, deactivated, deactivated, after)

    async def marker_seen() -> bool:
        org = await world.app.state.coalition.repo.get_organization(uuid.UUID(member.id))
        return org is not None and org.get("name") == marker

    await eventually(marker_seen, within=30, message="the projection to process all three deliveries")
    records = await published(world, infra, first, second)
    suspensions = [
        (r.key, r.data["reason"], r.data["actor_organization_id"], r.event["orgid"])
        for r in records
        if r.type == "coalition.membership.suspended" and r.data["organization_id"] == member.id
    ]
    assert sorted(suspensions) == sorted(
        [
            (first, "organization_deactivated", None, member.id),
            (second, "organization_deactivated", None, member.id),
        ]
    )
    assert await world.state_of(first, member.id) == "suspended"
    assert await world.state_of(second, member.id) == "suspended"
    org = await world.app.state.coalition.repo.get_organization(uuid.UUID(member.id))
    assert org is not None
    assert org["active"] is False
    inbox = world.app.state.runtime.db["inbox"]
    assert await inbox.count_documents({"_id": f"coalition-organizations:{deactivated.id}"}) == 1


async def test_a_deactivated_organization_cannot_be_reinstated_or_approved(
    world: CoalitionWorld, infra: Infra
) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    c = (await world.coalition(lead))["id"]
    await world.member(c, lead, member)
    await publish_identity_events(
        infra,
        member.id,
        identity_event(
            OrganizationDeactivated(organization_id=uuid.UUID(member.id), deactivated_by=uuid.uuid4())
        ),
    )
    await eventually(lambda: state_is(world, c, member, "suspended"), within=30, message="the suspension")

    reinstated = await world.post(membership(c, member.id) + "/reinstate", lead)

    assert reinstated.status_code == 409, reinstated.text
    assert "deactivated" in reinstated.json()["detail"]
    assert await world.state_of(c, member.id) == "suspended"
