"""Supporter actions consumed in batches (notifications.batches): exactly once, in order, poison set aside.

Records are produced on the real `campaigns.actions.v1` in one burst, so the consumer receives them in
batches: each event twice (a redelivery), one event already in the inbox of the consumer group that
used to read the topic, a record that is not a CloudEvent, and a supporter erased behind their action.
"""

from __future__ import annotations

import uuid
from typing import Any

from notifications_world import NotificationsWorld, Org

from common.contracts import campaigns as camp
from common.contracts import topics
from common.events import make_event
from common.testing.infra import Infra
from eventually import eventually
from kafka_records import read_to_end
from notifications.messaging.subscribers import ACTIONS_CONSUMER, ACTIONS_LEGACY_CONSUMERS

CONTACT = camp.SupporterContact(email="batch.supporter@example.org", first_name="Batch")


def _recorded(campaign_id: uuid.UUID, owner: Org, supporter_id: uuid.UUID) -> camp.ActionRecorded:
    return camp.ActionRecorded(
        campaign_id=campaign_id,
        owner_organization_id=owner.uuid,
        coalition_id=None,
        action_id=uuid.uuid4(),
        kind="signature",
        organization_id=owner.uuid,
        supporter_id=supporter_id,
        contact=CONTACT,
    )


async def test_a_burst_of_actions_makes_one_message_per_event_and_sets_poison_aside(
    world: NotificationsWorld, infra: Infra
) -> None:
    owner = await world.org("batch-owner")
    path = f"batch-{uuid.uuid4().hex[:8]}"
    endpoint = await world.endpoint(owner, path)
    campaign_id = uuid.uuid4()
    key = str(campaign_id).encode()
    supporters = [uuid.uuid4() for _ in range(40)]
    events = [
        make_event(_recorded(campaign_id, owner, s), source="urn:test:campaigns", subject=str(campaign_id))
        for s in supporters
    ]
    # An event the earlier (one-at-a-time) consumer group already applied: the batches skip it.
    legacy = events[3]
    await world.db["inbox"].insert_one(
        {"_id": f"{ACTIONS_LEGACY_CONSUMERS[0]}:{legacy.id}", "consumer": ACTIONS_LEGACY_CONSUMERS[0]}
    )
    erased = camp.SupporterErased(
        campaign_id=campaign_id,
        owner_organization_id=owner.uuid,
        coalition_id=None,
        supporter_id=supporters[7],
        organization_id=owner.uuid,
        requested_by="supporter",
    )
    erasure = make_event(erased, source="urn:test:campaigns", subject=str(campaign_id))
    poison = b'{"this": "is not a CloudEvent"'

    async def produce(value: bytes) -> None:
        await world.producer.publish(
            value,
            topic=topics.CAMPAIGNS_ACTIONS,
            key=key,
            headers={"content-type": "application/cloudevents+json"},
        )

    for i, event in enumerate(events):
        await produce(event.to_bytes())
        if i == 20:
            await produce(poison)
    for event in events:  # every event delivered a second time
        await produce(event.to_bytes())
    await produce(erasure.to_bytes())

    async def consumed() -> bool:
        ids = [f"{ACTIONS_CONSUMER}:{e.id}" for e in (*events, erasure) if e is not legacy]
        return await world.db["inbox"].count_documents({"_id": {"$in": ids}}) == len(ids)

    await eventually(consumed, within=90, message="every action event consumed")

    messages = await world.db["messages"].find({"endpoint_id": uuid.UUID(endpoint["id"])}).to_list()
    by_event: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        by_event.setdefault(message["event_id"], []).append(message)
    expected = {e.id for e in (*events, erasure) if e is not legacy}
    assert set(by_event) == expected
    assert all(len(found) == 1 for found in by_event.values()), "an event made two messages"
    assert f"{ACTIONS_CONSUMER}:{legacy.id}" not in {
        d["_id"] for d in await world.db["inbox"].find({"consumer": ACTIONS_CONSUMER}).to_list()
    }

    # The erasure came after the erased supporter's action: the message already queued is redacted too.
    erased_message = by_event[events[7].id][0]
    assert erased_message["payload"]["data"]["contact"] is None
    assert erased_message["redacted"] is True
    kept = by_event[events[8].id][0]
    assert kept["payload"]["data"]["contact"]["email"] == CONTACT.email

    # The poison record is on the group's dead-letter topic with its reason; the events behind it were
    # applied (checked above).
    async def dead_lettered() -> bool:
        records = await read_to_end(infra.kafka_bootstrap_servers, topics.dead_letter_topic(ACTIONS_CONSUMER))
        return any(
            r.raw == poison and r.headers.get("x-dead-letter-reason") == "invalid-envelope" for r in records
        )

    await eventually(dead_lettered, within=30, message="the poison record dead-lettered")
