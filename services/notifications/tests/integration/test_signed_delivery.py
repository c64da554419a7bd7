"""Webhooks are signed per Standard Webhooks and verify with the reference library, also during rotation."""

from __future__ import annotations

import json
import uuid

import pytest
from notifications_world import NotificationsWorld
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from webhook_receiver import Answer

from eventually import eventually


async def test_test_event_verifies_with_the_standard_webhooks_library(world: NotificationsWorld) -> None:
    org = await world.org("signer")
    path = f"sig-{uuid.uuid4().hex[:8]}"
    endpoint = await world.endpoint(org, path)
    assert endpoint["secret"].startswith("whsec_")

    sent = await world.send_test(org, endpoint["id"])
    await eventually(lambda: len(world.receiver.requests(path)) == 1, message="the test event")

    request = world.receiver.requests(path)[0]
    payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert set(payload) == {"type", "timestamp", "data"}
    assert request.headers["webhook-id"] == sent["webhook_id"]
    assert request.headers["content-type"] == "application/json"


async def test_both_secrets_sign_during_rotation_grace_and_only_the_new_after(
    world: NotificationsWorld,
) -> None:
    org = await world.org("rotator")
    path = f"rot-{uuid.uuid4().hex[:8]}"
    endpoint = await world.endpoint(org, path)
    old = endpoint["secret"]

    rotated = await world.http.post(
        f"/v1/webhooks/{endpoint['id']}/secret/rotate", json={}, headers=org.headers
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["secret_count"] == 2
    await world.send_test(org, endpoint["id"])
    await eventually(lambda: len(world.receiver.requests(path)) == 1, message="delivery during grace")
    during = world.receiver.requests(path)[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(during.body, during.headers)
    Webhook(new).verify(during.body, during.headers)

    ended = await world.http.post(
        f"/v1/webhooks/{endpoint['id']}/secret/rotate", json={"grace_seconds": 0}, headers=org.headers
    )
    newest = ended.json()["secret"]
    await world.send_test(org, endpoint["id"])
    await eventually(lambda: len(world.receiver.requests(path)) == 2, message="delivery after grace")
    after = world.receiver.requests(path)[1]
    Webhook(newest).verify(after.body, after.headers)
    for retired in (old, new):
        with pytest.raises(WebhookVerificationError):
            Webhook(retired).verify(after.body, after.headers)


async def test_webhook_id_is_stable_across_retries(world: NotificationsWorld) -> None:
    org = await world.org("retrier")
    path = f"stable-{uuid.uuid4().hex[:8]}"
    world.receiver.script(path, Answer(500), Answer(502), Answer(200))
    endpoint = await world.endpoint(org, path)

    sent = await world.send_test(org, endpoint["id"])
    done = await world.wait_status(sent["id"], "succeeded")

    requests = world.receiver.requests(path)
    assert [r.webhook_id for r in requests] == [sent["webhook_id"]] * 3
    assert done["attempt_count"] == 3
    bodies = {request.body for request in requests}
    assert len(bodies) == 1
    assert Webhook(endpoint["secret"]).verify(requests[-1].body, requests[-1].headers) == json.loads(
        requests[-1].body
    )
