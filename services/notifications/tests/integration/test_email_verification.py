"""The e-mail verification link reaches the user by e-mail (real SMTP, to the sink) and verifies them,
while its token is on no Kafka topic and in none of notifications' MongoDB documents: identity derives
it from the verification id under a secret shared with notifications, which derives it again only to
send the e-mail (docs/decisions/0010)."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from notifications_world import NotificationsWorld

from common.contracts import topics
from common.links import DEVELOPMENT_LINK_SECRET, EMAIL_VERIFICATION, derive_link_token
from common.testing.infra import Infra
from eventually import eventually
from notifications.domain.notices import LINK_TOKEN_PLACEHOLDER
from notifications.mailer import LinkSecretMissing, compose

LINK = re.compile(r"/verify-email\?token=([A-Za-z0-9_-]+)")


async def _raw_records(bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
    """Every record of `topic` from the beginning to its current end: (key, value and headers, raw; value)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert partitions, f"no partitions for {topic}"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[bytes, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(*partitions, timeout_ms=500)).values():
                for r in records:
                    raw = b"".join([r.key or b"", r.value or b"", *(v for _, v in r.headers)])
                    found.append((raw, r.value or b""))
        return found
    finally:
        await consumer.stop()


async def test_the_verification_link_is_mailed_and_verifies_without_the_token_on_kafka_or_stored(
    world: NotificationsWorld, infra: Infra
) -> None:
    person = await world.identity.person("verifying")
    requested = await world.identity.http.post("/v1/users/me/email-verification", headers=person.headers)
    assert requested.status_code == 202, requested.text
    shown = requested.json()["token"]  # development and test only

    await eventually(
        lambda: len(world.mails_to(person.email, account=True)) == 1, within=60, message="the link e-mail"
    )
    mail = world.mails_to(person.email, account=True)[0]
    assert "Confirm your e-mail address" in mail.subject
    text, html = mail.part("plain"), mail.part("html")
    links = LINK.findall(text)
    assert len(links) == 1, text
    token = links[0]
    assert token == shown
    assert LINK.findall(html) == [token]
    assert LINK_TOKEN_PLACEHOLDER not in text + html
    assert "preferences" not in html  # transactional: nothing to opt out of

    confirmed = await world.identity.http.post("/v1/users/email-verification/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    me = await world.identity.http.get("/v1/users/me", headers=person.headers)
    assert me.json()["email_verified_at"] is not None

    # The event carries the verification id, from which the token is derived, and never the token.
    records = await _raw_records(infra.kafka_bootstrap_servers, topics.IDENTITY_USERS)
    events: list[Any] = []
    for _, value in records:
        with contextlib.suppress(ValueError):
            events.append(json.loads(value))
    requested_events = [
        e
        for e in events
        if isinstance(e, dict)
        and e.get("type") == "identity.user.email_verification_requested"
        and (e.get("data") or {}).get("user_id") == person.id
    ]
    assert len(requested_events) == 1, requested_events
    verification_id = uuid.UUID(requested_events[0]["data"]["verification_id"])
    assert derive_link_token(DEVELOPMENT_LINK_SECRET, EMAIL_VERIFICATION, verification_id) == token
    assert not [raw for raw, _ in records if token.encode() in raw], "the token is on identity.users.v1"

    # Notifications keeps the e-mail with the link's id and a placeholder, never the token.
    async def sent() -> bool:
        doc = await world.db["emails"].find_one({"to": person.email})
        return doc is not None and doc["status"] == "sent"

    await eventually(sent, message="the link e-mail recorded as sent")
    queued = await world.db["emails"].find_one({"to": person.email})
    assert queued is not None
    assert queued["link"] == {"purpose": EMAIL_VERIFICATION, "id": verification_id}
    assert queued["category"] == "account"
    assert LINK_TOKEN_PLACEHOLDER in queued["text"]
    stored = [
        f"{name}: {json.dumps(doc, default=str)}"
        for name in await world.db.list_collection_names()
        for doc in await world.db[name].find().to_list()
    ]
    assert stored
    assert not [s[:120] for s in stored if token in s], "the token is stored in notifications' database"
    # Account mail is not a notice: nothing in the in-app feed.
    assert await world.db["notices"].count_documents({"user_id": uuid.UUID(person.id)}) == 0


def test_a_link_e_mail_does_not_compose_without_the_link_secret() -> None:
    doc = {
        "_id": uuid.uuid4(),
        "to": "ada@example.org",
        "subject": "Confirm your e-mail address",
        "category": "account",
        "text": f"open /verify-email?token={LINK_TOKEN_PLACEHOLDER}\n",
        "html": f"<a href='/verify-email?token={LINK_TOKEN_PLACEHOLDER}'>confirm</a>",
        "link": {"purpose": EMAIL_VERIFICATION, "id": uuid.uuid4()},
    }
    with pytest.raises(LinkSecretMissing):
        compose(doc, "notifications@example.org", None)

    message = compose(doc, "notifications@example.org", "an-operator-chosen-link-secret-0123456789")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    expected = derive_link_token(
        "an-operator-chosen-link-secret-0123456789", EMAIL_VERIFICATION, doc["link"]["id"]
    )
    assert LINK.findall(str(body.get_content())) == [expected]
