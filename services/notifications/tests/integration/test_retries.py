"""Retry behaviour on a compressed schedule (0, 0.3, 0.3, 0.3 s): outcomes, Retry-After, timeouts,
exhaustion, restarts, rate limits and replicas, all against a real receiver and real MongoDB/Kafka."""

from __future__ import annotations

import itertools
import uuid

from notifications_world import NotificationsWorld
from webhook_receiver import Answer

from common.runtime import Role
from eventually import eventually


async def test_failures_then_success_record_every_attempt(world: NotificationsWorld) -> None:
    org = await world.org("flaky")
    path = f"flaky-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(500, body="boom"), Answer(503), Answer(204))
    endpoint = await world.endpoint(org, path)

    sent = await world.send_test(org, endpoint["id"])
    await world.wait_status(sent["id"], "succeeded")

    attempts = await world.http.get(
        f"/v1/webhooks/{endpoint['id']}/messages/{sent['id']}/attempts", headers=org.headers
    )
    assert [(a["status_code"], a["outcome"]) for a in attempts.json()] == [
        (500, "failed"),
        (503, "failed"),
        (204, "succeeded"),
    ]
    assert attempts.json()[0]["response_snippet"] == "boom"
    assert all(a["latency_ms"] is not None for a in attempts.json())
    await eventually(
        lambda: _count(world, "notifications.delivery.succeeded", sent["id"], 1), message="success event"
    )
    failed = await world.published("notifications.delivery.failed", message_id=sent["id"])
    assert sorted(e["event"]["data"]["attempt"] for e in failed) == [1, 2]
    stats = (await world.http.get(f"/v1/webhooks/{endpoint['id']}/stats", headers=org.headers)).json()
    assert stats["attempts"] == 3
    assert stats["succeeded"] == 1
    assert stats["last_success_at"] is not None
    assert abs(stats["success_rate"] - 1 / 3) < 1e-9


async def _count(world: NotificationsWorld, event_type: str, message_id: str, n: int) -> bool:
    return len(await world.published(event_type, message_id=message_id)) == n


async def test_gone_disables_the_endpoint_and_tells_the_organization(world: NotificationsWorld) -> None:
    org = await world.org("gone")
    path = f"gone-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(410))
    endpoint = await world.endpoint(org, path)

    sent = await world.send_test(org, endpoint["id"])
    await world.wait_status(sent["id"], "failed")

    read = (await world.http.get(f"/v1/webhooks/{endpoint['id']}", headers=org.headers)).json()
    assert read["enabled"] is False
    assert read["disabled_reason"] == "gone"
    assert len(world.receiver.requests(path)) == 1
    await eventually(
        lambda: _published_disabled(world, endpoint["id"]), message="notifications.endpoint.disabled"
    )
    await eventually(lambda: len(world.mails_to(org.admin.email)) == 1, message="the disabled e-mail")
    mail = world.mails_to(org.admin.email)[0]
    assert "was disabled" in mail.subject
    assert endpoint["url"] in mail.part("plain")
    assert endpoint["url"] in mail.part("html")


async def _published_disabled(world: NotificationsWorld, endpoint_id: str) -> bool:
    return len(await world.published("notifications.endpoint.disabled", endpoint_id=endpoint_id)) == 1


async def test_too_many_requests_waits_as_long_as_retry_after_asks(world: NotificationsWorld) -> None:
    org = await world.org("throttled")
    path = f"429-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(429, headers={"Retry-After": "2"}), Answer(200))
    endpoint = await world.endpoint(org, path)

    sent = await world.send_test(org, endpoint["id"])
    await world.wait_status(sent["id"], "succeeded")

    first, second = world.receiver.requests(path)
    # The schedule alone would retry after 0.3 s.
    assert second.at - first.at >= 1.9


async def test_a_timeout_counts_as_a_failed_attempt(world: NotificationsWorld) -> None:
    org = await world.org("slow")
    path = f"slow-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(200, delay=3.0), Answer(200))
    endpoint = await world.endpoint(org, path)

    sent = await world.send_test(org, endpoint["id"])
    await world.wait_status(sent["id"], "succeeded")

    attempts = (
        await world.http.get(
            f"/v1/webhooks/{endpoint['id']}/messages/{sent['id']}/attempts", headers=org.headers
        )
    ).json()
    assert [(a["status_code"], a["error"]) for a in attempts] == [(None, "timeout"), (200, None)]


async def test_exhausted_schedule_marks_failed_and_publishes_exhausted(world: NotificationsWorld) -> None:
    org = await world.org("down")
    path = f"down-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(500))
    endpoint = await world.endpoint(org, path)

    sent = await world.send_test(org, endpoint["id"])
    failed = await world.wait_status(sent["id"], "failed")

    assert failed["attempt_count"] == 4  # the whole schedule, no more
    assert len(world.receiver.requests(path)) == 4
    await eventually(
        lambda: _count(world, "notifications.delivery.exhausted", sent["id"], 1), message="exhausted event"
    )
    listed = await world.http.get(
        f"/v1/webhooks/{endpoint['id']}/messages", params={"status": "failed"}, headers=org.headers
    )
    assert [m["id"] for m in listed.json()["items"]] == [sent["id"]]


async def test_retry_and_replay_deliver_failed_messages_again(world: NotificationsWorld) -> None:
    org = await world.org("replayer")
    path = f"replay-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(500), Answer(500), Answer(500), Answer(500), Answer(200))
    endpoint = await world.endpoint(org, path)
    first = await world.send_test(org, endpoint["id"])
    await world.wait_status(first["id"], "failed")
    second = await world.send_test(org, endpoint["id"])
    await world.wait_status(second["id"], "succeeded")
    world.receiver.script(path, Answer(200))

    retried = await world.http.post(
        f"/v1/webhooks/{endpoint['id']}/messages/{first['id']}/retry", headers=org.headers
    )
    assert retried.status_code == 202, retried.text
    await world.wait_status(first["id"], "succeeded")

    third = await world.send_test(org, endpoint["id"])
    await world.wait_status(third["id"], "succeeded")
    # Fail one more on purpose, then replay everything failed since the start of the test.
    world.receiver.script(path, Answer(500))
    fourth = await world.send_test(org, endpoint["id"])
    await world.wait_status(fourth["id"], "failed")
    world.receiver.script(path, Answer(200))
    replay = await world.http.post(
        f"/v1/webhooks/{endpoint['id']}/replay", json={"since": first["created_at"]}, headers=org.headers
    )
    assert replay.json() == {"replayed": 1}
    await world.wait_status(fourth["id"], "succeeded")


async def test_rate_limit_spaces_requests_to_one_endpoint(world: NotificationsWorld) -> None:
    org = await world.org("limited")
    path = f"rate-{uuid.uuid4().hex[:8]}"
    endpoint = await world.endpoint(org, path, rate_per_second=4)

    sent = [await world.send_test(org, endpoint["id"]) for _ in range(6)]
    for message in sent:
        await world.wait_status(message["id"], "succeeded")

    times = sorted(r.at for r in world.receiver.requests(path))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 6
    assert min(gaps) >= 0.2, gaps  # 4 per second is one every 0.25 s, less the receiver's timing noise
    assert times[-1] - times[0] >= 1.2


async def test_restart_mid_schedule_loses_nothing(world: NotificationsWorld) -> None:
    org = await world.org("restart")
    path = f"restart-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(503, headers={"Retry-After": "4"}), Answer(200))
    endpoint = await world.endpoint(org, path)
    sent = await world.send_test(org, endpoint["id"])
    await eventually(lambda: len(world.receiver.requests(path)) == 1, message="the first attempt")

    async def first_failure_recorded() -> bool:
        doc = await world.message_by_id(sent["id"])
        return doc["attempt_count"] == 1 and doc["status"] == "pending"

    # Restart between attempts: the 503 is recorded and the retry waits on the schedule in MongoDB.
    await eventually(first_failure_recorded, message="the first attempt's failure recorded")
    await world.stack.restart()

    done = await world.wait_status(sent["id"], "succeeded")
    assert done["attempt_count"] == 2
    assert [r.webhook_id for r in world.receiver.requests(path)] == [sent["webhook_id"]] * 2


async def test_two_replicas_deliver_each_attempt_once(world: NotificationsWorld) -> None:
    org = await world.org("replicas")
    path = f"replicas-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(200, delay=0.2))
    endpoint = await world.endpoint(org, path, rate_per_second=1000)

    async with world.stack.replica(Role.WORKER):
        sent = [await world.send_test(org, endpoint["id"]) for _ in range(30)]
        for message in sent:
            await world.wait_status(message["id"], "succeeded")

    ids = [r.webhook_id for r in world.receiver.requests(path)]
    assert sorted(ids) == sorted(m["webhook_id"] for m in sent)  # each exactly once
    attempts = await world.db["attempts"].find({"endpoint_id": uuid.UUID(endpoint["id"])}).to_list()
    assert len(attempts) == 30
    assert len({a["worker"] for a in attempts}) == 2, "both replicas should have taken a share"
