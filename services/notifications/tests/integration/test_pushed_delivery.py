"""Webhook delivery is pushed: a queued message is attempted when it is queued (the poll interval of the
tests' stack is an hour), several at once per endpoint, and the rate limit holds across replicas."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta

from notifications_world import NotificationsWorld
from webhook_receiver import Answer

from common.contracts import campaigns as camp
from eventually import eventually
from notifications.delivery import LeaseLost
from notifications.service import message_doc
from notifications.webhook_client import Response

AN_HOUR = 3600


async def test_a_consumed_event_is_delivered_at_once_not_when_polled(world: NotificationsWorld) -> None:
    assert world.stack.settings.delivery_poll_seconds >= AN_HOUR  # no poll comes to the rescue
    org = await world.org("pushed")
    path = f"pushed-{uuid.uuid4().hex[:8]}"
    endpoint = await world.endpoint(org, path, event_types=["campaigns.campaign.created"])
    delivery = world.stack.delivery
    woken_by_consumer = delivery.wakeup.count["consumer"]

    event = await world.publish_and_wait(
        camp.CampaignCreated(
            campaign_id=uuid.uuid4(),
            owner_organization_id=org.uuid,
            kind="petition",
            title="Pushed, not polled",
            status="active",
            goal=camp.Goal(metric="actions", target=10, deadline=datetime(2030, 1, 1, tzinfo=UTC)),
        )
    )

    message = await world.message(endpoint["id"], event.id)
    assert message is not None
    done = await world.wait_status(str(message["_id"]), "succeeded")
    assert done["attempt_count"] == 1
    assert [r.webhook_id for r in world.receiver.requests(path)] == [f"msg_{message['_id'].hex}"]
    assert delivery.wakeup.count["consumer"] > woken_by_consumer  # the consumer woke the worker


async def test_several_messages_to_one_endpoint_are_in_flight_together(world: NotificationsWorld) -> None:
    together = 5
    org = await world.org("parallel")
    path = f"parallel-{uuid.uuid4().hex[:8]}"
    endpoint = await world.endpoint(org, path, rate_per_second=1000)
    world.receiver.script(path, Answer(500))
    sent = [await world.send_test(org, endpoint["id"]) for _ in range(together)]
    for message in sent:
        await world.wait_status(message["id"], "failed")
    # Each answer now waits until `together` requests are open at once (else it fails by timeout).
    world.receiver.script(path, Answer(200, together=together))

    replay = await world.http.post(
        f"/v1/webhooks/{endpoint['id']}/replay", json={"since": sent[0]["created_at"]}, headers=org.headers
    )
    assert replay.json() == {"replayed": together}
    for message in sent:
        await world.wait_status(message["id"], "succeeded")

    assert world.receiver.most_open[path] >= together


async def test_rate_limit_holds_across_two_replicas(world: NotificationsWorld) -> None:
    org = await world.org("shared-limit")
    workers: set[str] = set()
    # Which replica claims a message is up to scheduling: the scenario runs again (on a fresh endpoint)
    # until both replicas took part, and the limit must hold every time.
    for _ in range(4):
        path = f"shared-{uuid.uuid4().hex[:8]}"
        endpoint = await world.endpoint(org, path, rate_per_second=4)

        async with world.stack.serving_replica() as other:
            # Messages queued through each replica's API: each replica is woken first for its own.
            sent = [
                await world.send_test(org, endpoint["id"], via=other if i % 2 else None) for i in range(8)
            ]
            for message in sent:
                await world.wait_status(message["id"], "succeeded")

        assert len(world.receiver.requests(path)) == 8
        attempts = await world.db["attempts"].find({"endpoint_id": uuid.UUID(endpoint["id"])}).to_list()
        assert len(attempts) == 8
        # The limit is the shared schedule of slots the replicas book (4 per second: 0.25 s apart, not
        # one slot booked twice), and no request starts before its slot. Both are facts recorded by the
        # senders, not timings read at the receiver (a loaded machine delays some requests).
        slots = sorted(a["slot_at"] for a in attempts)
        assert all(b - a >= timedelta(milliseconds=249) for a, b in itertools.pairwise(slots)), slots
        assert all(a["started_at"] >= a["slot_at"] for a in attempts)
        workers = {a["worker"] for a in attempts}
        if len(workers) == 2:
            break
    assert len(workers) == 2, "both replicas should have sent some"


async def test_a_message_queued_by_another_replica_wakes_this_one(world: NotificationsWorld) -> None:
    org = await world.org("streamed")
    path = f"streamed-{uuid.uuid4().hex[:8]}"
    endpoint = await world.endpoint(org, path)
    delivery = world.stack.delivery
    seen_on_stream = delivery.wakeup.count["change-stream"]

    async with world.stack.serving_replica() as other:
        sent = await world.send_test(org, endpoint["id"], via=other)
        await world.wait_status(sent["id"], "succeeded")

    async def stream_woke_this_replica() -> bool:
        return delivery.wakeup.count["change-stream"] > seen_on_stream

    await eventually(stream_woke_this_replica, message="the change stream to wake the first replica")


async def test_attempts_finishing_together_are_recorded_together_and_a_lost_lease_only_loses_its_own(
    world: NotificationsWorld,
) -> None:
    """Finished attempts are written in one transaction; when one message of the batch was taken over by
    another replica (its lease expired), the batch falls back to one at a time: the others are recorded,
    that one is not (LeaseLost), as when each attempt was written alone."""
    org = await world.org("batched-records")
    endpoint_doc = await world.db["endpoints"].find_one(
        {"_id": uuid.UUID((await world.endpoint(org, f"batched-{uuid.uuid4().hex[:8]}"))["id"])}
    )
    assert endpoint_doc is not None
    worker = world.stack.delivery
    far = datetime.now(UTC) + timedelta(hours=1)
    messages = []
    for i in range(4):
        doc = message_doc(
            endpoint=endpoint_doc,
            event_id=f"batched-{i}-{uuid.uuid4().hex[:6]}",
            event_type="webhook.test",
            timestamp=datetime.now(UTC).isoformat(),
            data={"n": i},
            settings=worker.settings,
            rng=random.Random(i),
        )
        # Leased to this worker, as a claim leaves them (the running worker does not pick them up).
        doc.update(lease_owner=worker.owner, lease_until=far)
        messages.append(doc)
    await world.db["messages"].insert_many(messages)
    stolen = messages[2]
    await world.db["messages"].update_one(
        {"_id": stolen["_id"]}, {"$set": {"lease_owner": "another-replica"}}
    )

    ok = Response(status=200, latency_ms=3, snippet="ok", error=None, retry_after=None)
    outcomes = await asyncio.gather(
        *(worker._record_batched(m, endpoint_doc, ok, slot=None, started_at=None) for m in messages),
        return_exceptions=True,
    )

    assert [isinstance(o, LeaseLost) for o in outcomes] == [False, False, True, False], outcomes
    for m in messages:
        stored = await world.db["messages"].find_one({"_id": m["_id"]})
        assert stored is not None
        if m is stolen:
            assert (stored["status"], stored["attempt_count"], stored["lease_owner"]) == (
                "pending",
                0,
                "another-replica",
            )
        else:
            assert (stored["status"], stored["attempt_count"], stored["lease_owner"]) == (
                "succeeded",
                1,
                None,
            )
    recorded = (
        await world.db["attempts"].find({"message_id": {"$in": [m["_id"] for m in messages]}}).to_list()
    )
    assert sorted(str(a["message_id"]) for a in recorded) == sorted(
        str(m["_id"]) for m in messages if m is not stolen
    )
    events = (
        await world.db["outbox"]
        .find(
            {
                "event.type": "notifications.delivery.succeeded",
                "event.data.message_id": {"$in": [str(m["_id"]) for m in messages]},
            }
        )
        .to_list()
    )
    assert len(events) == 3
