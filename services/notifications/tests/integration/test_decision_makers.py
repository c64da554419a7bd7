"""Letters and petitions reach decision-makers over real SMTP, exactly once per letter and target, and are
kept as sent; meeting schedules reach attendees in their language. The campaigns service's events are
produced here on their real topics, as the contract of issue 12 describes them."""

from __future__ import annotations

import uuid
from typing import Any

from notifications_world import NotificationsWorld

from common.contracts import campaigns as camp
from eventually import eventually
from notifications.smtp_sink import ReceivedMail

PLATFORM = "Coalition Platform"
PLATFORM_ADDRESS = "notifications@coalition-platform.dev"


def _target(name: str = "Senator Jane Roe") -> camp.DecisionMaker:
    tag = uuid.uuid4().hex[:8]
    return camp.DecisionMaker(
        target_id=uuid.uuid4(), target_version=1, name=name, email=f"roe-{tag}@parliament.example"
    )


def _letter(
    org: uuid.UUID,
    campaign: uuid.UUID,
    targets: list[camp.DecisionMaker],
    *,
    delivery: str = "per_letter",
    reply_to: str | None = None,
    supporter: uuid.UUID | None = None,
    from_name: str = "Ana Lima",
    body: str | None = None,
) -> camp.LetterDispatchRequested:
    letter_id = uuid.uuid4()
    return camp.LetterDispatchRequested(
        campaign_id=campaign,
        owner_organization_id=org,
        letter_id=letter_id,
        organization_id=org,
        supporter_id=supporter or uuid.uuid4(),
        delivery=delivery,  # type: ignore[arg-type]
        from_name=from_name,
        reply_to=reply_to,
        subject="Extend clinic hours one evening per week",
        body=body or f"Dear Senator,\n\nPlease extend the clinic's hours ({letter_id}).\n\nAna",
        language="en",
        targets=targets,
    )


def _with_id(mails: list[ReceivedMail], kind: str, item: uuid.UUID, target: camp.DecisionMaker) -> list[Any]:
    wanted = f"<{kind}.{item}.{target.target_id}@coalition-platform.dev>"
    return [m for m in mails if m.message["Message-ID"] == wanted]


def _text(mail: ReceivedMail) -> str:
    """The mail's text as written (the wire's CRLF line ends read as LF)."""
    return mail.part("plain").replace("\r\n", "\n").strip()


async def _queued(world: NotificationsWorld, letter: camp.LetterDispatchRequested, n: int) -> bool:
    return await world.db["outgoing_mail"].count_documents({"item_id": letter.letter_id}) == n


async def test_a_letter_goes_to_each_target_from_the_supporter_via_the_platform(
    world: NotificationsWorld,
) -> None:
    org, campaign = uuid.uuid4(), uuid.uuid4()
    senator, mayor = _target(), _target("Mayor Li")
    with_reply = _letter(org, campaign, [senator, mayor], reply_to="ana.lima@example.org")
    without_reply = _letter(org, campaign, [senator], from_name="Bo Chen")

    await world.publish(with_reply)
    await world.publish(without_reply)

    await eventually(lambda: len(world.sink.to(senator.email)) == 2, message="both letters to the senator")
    await eventually(lambda: len(world.sink.to(mayor.email)) == 1, message="the letter to the mayor")
    [mail] = _with_id(world.sink.to(senator.email), "letter", with_reply.letter_id, senator)
    assert mail.message["From"].addresses[0].display_name == f"Ana Lima via {PLATFORM}"
    assert mail.message["From"].addresses[0].addr_spec == PLATFORM_ADDRESS
    assert mail.message["Reply-To"].addresses[0].addr_spec == "ana.lima@example.org"
    assert mail.message["To"].addresses[0].addr_spec == senator.email
    assert mail.subject == with_reply.subject
    assert _text(mail) == with_reply.body.strip()  # as the supporter wrote it
    [other] = _with_id(world.sink.to(senator.email), "letter", without_reply.letter_id, senator)
    assert other.message["Reply-To"] is None
    assert other.message["From"].addresses[0].display_name == f"Bo Chen via {PLATFORM}"

    async def sent_events() -> bool:
        sent = await world.published("notifications.letter.sent", letter_id=str(with_reply.letter_id))
        return {e["event"]["data"]["target_id"] for e in sent} == {
            str(senator.target_id),
            str(mayor.target_id),
        }

    await eventually(sent_events, message="notifications.letter.sent per target")


async def test_digest_letters_go_out_together_once_the_period_is_over(world: NotificationsWorld) -> None:
    org, campaign = uuid.uuid4(), uuid.uuid4()
    senator = _target()
    first = _letter(org, campaign, [senator], delivery="digest", reply_to="ana.lima@example.org")
    second = _letter(org, campaign, [senator], delivery="digest", from_name="Bo Chen")
    await world.publish_and_wait(first)
    await world.publish_and_wait(second)
    queued = (
        await world.db["outgoing_mail"]
        .find({"item_id": {"$in": [first.letter_id, second.letter_id]}})
        .to_list()
    )
    assert [q["status"] for q in queued] == ["pending", "pending"]
    assert len({q["next_attempt_at"] for q in queued}) == 1  # one digest
    assert world.sink.to(senator.email) == []

    world.stack.clock.advance(world.stack.settings.letter_digest_seconds)
    world.stack.letters.wake("test")

    await eventually(lambda: len(world.sink.to(senator.email)) == 1, message="the digest")
    [digest] = world.sink.to(senator.email)
    text = _text(digest)
    assert str(first.letter_id) in text
    assert str(second.letter_id) in text
    assert "Ana Lima <ana.lima@example.org>" in text
    assert "Bo Chen" in text
    assert digest.message["Reply-To"] is None
    assert digest.message["From"].addresses[0].display_name == PLATFORM

    async def both_sent() -> bool:
        sent = await world.published("notifications.letter.sent", target_id=str(senator.target_id))
        return {e["event"]["data"]["letter_id"] for e in sent} == {
            str(first.letter_id),
            str(second.letter_id),
        }

    await eventually(both_sent, message="notifications.letter.sent for each digest letter")


async def test_each_letter_reaches_each_target_exactly_once_across_a_restart(
    world: NotificationsWorld,
) -> None:
    org, campaign = uuid.uuid4(), uuid.uuid4()
    senator, mayor = _target(), _target("Mayor Li")
    letter = _letter(org, campaign, [senator, mayor])
    queued_before = _letter(org, campaign, [senator], delivery="digest")
    delivered = await world.publish(letter)
    await world.publish_and_wait(queued_before)
    await eventually(
        lambda: len(world.sink.to(senator.email)) == 1 and len(world.sink.to(mayor.email)) == 1,
        message="the letter to both targets",
    )
    await eventually(
        lambda: _sent_count(world, letter.letter_id, 2), message="both recorded sent before the restart"
    )

    await world.stack.restart()
    # The same event again (a redelivery) and the letter requested again under a new event id.
    await world.producer.publish(
        delivered.to_bytes(),
        topic=letter.topic,
        key=str(campaign).encode(),
        headers={"content-type": "application/cloudevents+json"},
    )
    await world.publish_and_wait(letter)
    world.stack.clock.advance(world.stack.settings.letter_digest_seconds)
    world.stack.letters.wake("test")
    control = _letter(org, campaign, [senator, mayor])
    await world.publish(control)

    def digest_of_before() -> list[ReceivedMail]:
        return [m for m in world.sink.to(senator.email) if str(queued_before.letter_id) in m.part("plain")]

    await eventually(
        lambda: (
            _with_id(world.sink.to(senator.email), "letter", control.letter_id, senator) != []
            and _with_id(world.sink.to(mayor.email), "letter", control.letter_id, mayor) != []
            and digest_of_before() != []
        ),
        message="the digest queued before the restart, and a later letter, sent after it",
    )
    assert len(_with_id(world.sink.to(senator.email), "letter", letter.letter_id, senator)) == 1
    assert len(_with_id(world.sink.to(mayor.email), "letter", letter.letter_id, mayor)) == 1
    assert len(digest_of_before()) == 1
    assert await world.db["outgoing_mail"].count_documents({"item_id": letter.letter_id}) == 2
    assert await _sent_count(world, letter.letter_id, 2)
    assert len(await world.published("notifications.letter.sent", letter_id=str(letter.letter_id))) == 2


async def _sent_count(world: NotificationsWorld, letter_id: uuid.UUID, n: int) -> bool:
    count = await world.db["outgoing_mail"].count_documents({"item_id": letter_id, "status": "sent"})
    kept = await world.db["sent_messages"].count_documents({"item_ids": letter_id})
    return count == n and kept == n
