"""Letters and petitions reach decision-makers over real SMTP, exactly once per letter and target, and are
kept as sent; meeting schedules reach attendees in their language. The campaigns service's events are
produced here on their real topics, as the contract of issue 12 describes them."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from notifications_world import NotificationsWorld

from common.contracts import campaigns as camp
from common.links import DEVELOPMENT_LINK_SECRET, derive_link_token
from common.testing.access import IdentityActions, role_is
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
        lambda: _sent_count(world, letter.letter_id, 2), message="sent to both targets and kept as sent"
    )
    # The same event again (a redelivery) and the letter requested again under a new event id.
    await world.producer.publish(
        delivered.to_bytes(),
        topic=letter.topic,
        key=str(campaign).encode(),
        headers={"content-type": "application/cloudevents+json"},
    )
    await world.publish_and_wait(letter)

    await world.stack.restart()
    world.stack.clock.advance(world.stack.settings.letter_digest_seconds)
    world.stack.letters.wake("test")

    def digest_of_before() -> list[ReceivedMail]:
        return [m for m in world.sink.to(senator.email) if str(queued_before.letter_id) in _text(m)]

    # The restarted service claims every due item, oldest first: the digest queued before the restart is
    # sent by it, and a letter already sent is not due again.
    await eventually(lambda: digest_of_before() != [], message="the digest queued before the restart")
    await eventually(
        lambda: _sent_count(world, queued_before.letter_id, 1), message="the digest recorded as sent"
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


async def test_an_erased_supporters_queued_letter_is_never_sent(world: NotificationsWorld) -> None:
    org, campaign = uuid.uuid4(), uuid.uuid4()
    senator = _target()
    erased, kept = uuid.uuid4(), uuid.uuid4()
    doomed = _letter(org, campaign, [senator], delivery="digest", supporter=erased, from_name="Erin Gone")
    staying = _letter(org, campaign, [senator], delivery="digest", supporter=kept, from_name="Kai Kept")
    await world.publish_and_wait(doomed)
    await world.publish_and_wait(staying)

    await world.publish_and_wait(
        camp.SupporterErased(
            campaign_id=campaign,
            owner_organization_id=org,
            supporter_id=erased,
            organization_id=org,
            requested_by="supporter",
        )
    )
    late = _letter(org, campaign, [senator], supporter=erased, from_name="Erin Gone")  # after the erasure
    await world.publish_and_wait(late)
    world.stack.clock.advance(world.stack.settings.letter_digest_seconds)
    world.stack.letters.wake("test")
    control = _letter(org, campaign, [senator], from_name="Cy Control")
    await world.publish(control)

    await eventually(
        lambda: (
            _with_id(world.sink.to(senator.email), "letter", control.letter_id, senator) != []
            and any(str(staying.letter_id) in _text(m) for m in world.sink.to(senator.email))
        ),
        message="the other supporter's digest letter and a later letter",
    )
    texts = [_text(m) + str(m.message) for m in world.sink.to(senator.email)]
    assert not any("Erin Gone" in t or str(doomed.letter_id) in t or str(late.letter_id) in t for t in texts)
    for letter in (doomed, late):
        unit = await world.db["outgoing_mail"].find_one({"item_id": letter.letter_id})
        assert unit is not None
        assert (unit["status"], unit["last_error"], unit["body"]) == ("failed", "supporter_erased", "")

    async def failed_events() -> bool:
        failed = [
            e["event"]["data"]
            for letter in (doomed, late)
            for e in await world.published("notifications.letter.failed", letter_id=str(letter.letter_id))
        ]
        return sorted((f["reason"], f["final"]) for f in failed) == [("supporter_erased", True)] * 2

    await eventually(failed_events, message="notifications.letter.failed (supporter_erased, final)")


async def test_a_letter_that_cannot_be_sent_is_retried_then_failed_with_its_reason(
    world: NotificationsWorld,
) -> None:
    org, campaign = uuid.uuid4(), uuid.uuid4()
    nowhere = camp.DecisionMaker(target_id=uuid.uuid4(), target_version=2, name="Nobody", email="no-domain")
    letter = _letter(org, campaign, [nowhere])

    await world.publish(letter)

    async def failed_for_good() -> bool:
        failed = await world.published("notifications.letter.failed", letter_id=str(letter.letter_id))
        return any(e["event"]["data"]["final"] for e in failed)

    await eventually(failed_for_good, message="the final notifications.letter.failed")
    failed = await world.published("notifications.letter.failed", letter_id=str(letter.letter_id))
    attempts = world.stack.settings.letter_max_attempts
    assert sorted(e["event"]["data"]["final"] for e in failed) == [False] * (attempts - 1) + [True]
    assert {e["event"]["data"]["reason"] for e in failed} == {"invalid_address"}
    unit = await world.db["outgoing_mail"].find_one({"item_id": letter.letter_id})
    assert unit is not None
    assert (unit["status"], unit["attempts"]) == ("failed", attempts)


async def test_a_petition_is_delivered_with_its_attachments_and_kept_as_sent(
    world: NotificationsWorld,
) -> None:
    org = await world.org("petitioner")
    campaign = uuid.uuid4()
    minister = _target("Minister Ada Obi")
    pdf = b"%PDF-1.7\n" + uuid.uuid4().bytes * 100
    csv = b"name,place\nAna Lima,Porto\n"
    delivery = camp.PetitionDeliveryRequested(
        campaign_id=campaign,
        owner_organization_id=org.uuid,
        delivery_id=uuid.uuid4(),
        target=minister,
        subject="Petition: extend clinic hours (1,204 signatures)",
        body="Dear Minister,\n\nPlease find our petition attached.",
        attachments=[
            camp.MailAttachment(
                filename="petition.pdf",
                content_type="application/pdf",
                content_base64=base64.b64encode(pdf).decode(),
            ),
            camp.MailAttachment(
                filename="signatures.csv",
                content_type="text/csv",
                content_base64=base64.b64encode(csv).decode(),
            ),
        ],
    )

    await world.publish(delivery)

    await eventually(lambda: len(world.sink.to(minister.email)) == 1, message="the petition mail")
    [mail] = world.sink.to(minister.email)
    assert mail.message["From"].addresses[0].display_name == f"Petitioner Association via {PLATFORM}"
    received = {a.get_filename(): a.get_content() for a in mail.message.iter_attachments()}
    assert received["petition.pdf"] == pdf
    assert received["signatures.csv"].replace("\r\n", "\n").encode() == csv
    await eventually(
        lambda: _published(world, "notifications.petition.sent", delivery_id=str(delivery.delivery_id)),
        message="notifications.petition.sent",
    )

    response = await world.http.get(
        "/v1/sent-messages", params={"campaign_id": str(campaign)}, headers=org.headers
    )
    assert response.status_code == 200, response.text
    [kept] = response.json()["items"]
    assert kept["kind"] == "petition"
    assert kept["headers"]["Subject"] == delivery.subject
    assert kept["headers"]["To"].endswith(f"<{minister.email}>")
    assert kept["body"].replace("\r\n", "\n").strip() == delivery.body
    assert {(a["filename"], a["sha256"], a["size"]) for a in kept["attachments"]} == {
        ("petition.pdf", hashlib.sha256(pdf).hexdigest(), len(pdf)),
        ("signatures.csv", hashlib.sha256(csv).hexdigest(), len(csv)),
    }
    assert kept["expires_at"] is None  # kept while the campaign runs


async def _published(world: NotificationsWorld, event_type: str, **match: Any) -> bool:
    return len(await world.published(event_type, **match)) == 1


async def test_sent_mail_is_read_by_its_organizations_managers_only_and_kept_until_archival_plus_retention(
    world: NotificationsWorld,
) -> None:
    mine, other = await world.org("keeper"), await world.org("nosy")
    campaign = uuid.uuid4()
    senator = _target()
    letter = _letter(mine.uuid, campaign, [senator], reply_to="ana.lima@example.org")
    await world.publish(letter)
    await eventually(lambda: _sent_count(world, letter.letter_id, 1), message="the letter kept as sent")
    params = {"campaign_id": str(campaign)}

    own = await world.http.get("/v1/sent-messages", params=params, headers=mine.headers)
    foreign = await world.http.get("/v1/sent-messages", params=params, headers=other.headers)
    anonymous = await world.http.get("/v1/sent-messages", params=params)

    [kept] = own.json()["items"]
    assert kept["item_ids"] == [str(letter.letter_id)]
    assert kept["headers"]["Reply-To"] == "Ana Lima <ana.lima@example.org>"
    assert kept["headers"]["From"] == f"Ana Lima via {PLATFORM} <{PLATFORM_ADDRESS}>"
    assert kept["target"]["target_version"] == 1
    assert foreign.status_code == 404  # as for a campaign that does not exist
    assert foreign.headers["content-type"].startswith("application/problem+json")
    assert anonymous.status_code == 401

    # An organizer manages campaigns and reads them; a plain member does not; nor the organizer once demoted.
    organizer = await world.identity.add_member(mine.id, mine.admin, role="organizer", name="organizer")
    member = await world.identity.add_member(mine.id, mine.admin, role="member", name="member")
    assert world.stack.app is not None
    await role_is(world.stack.app, organizer.id, mine.id, "organizer")
    await role_is(world.stack.app, member.id, mine.id, "member")
    by_organizer = await world.http.get("/v1/sent-messages", params=params, headers=organizer.headers)
    by_member = await world.http.get("/v1/sent-messages", params=params, headers=member.headers)
    assert [m["id"] for m in by_organizer.json()["items"]] == [kept["id"]]
    assert by_member.status_code == 403
    await IdentityActions(world.identity.http).change_role(mine.id, mine.headers, organizer.id, "member")
    await role_is(world.stack.app, organizer.id, mine.id, "member")
    demoted = await world.http.get("/v1/sent-messages", params=params, headers=organizer.headers)
    assert demoted.status_code == 403

    before = datetime.now(UTC)
    await world.publish_and_wait(
        camp.CampaignArchived(
            campaign_id=campaign, owner_organization_id=mine.uuid, status="archived", previous_status="closed"
        )
    )
    after = datetime.now(UTC)

    [archived] = (await world.http.get("/v1/sent-messages", params=params, headers=mine.headers)).json()[
        "items"
    ]
    retention = timedelta(days=world.stack.settings.sent_retention_days)
    expires = datetime.fromisoformat(archived["expires_at"])
    assert before + retention - timedelta(seconds=1) <= expires <= after + retention
    indexes = await world.db["sent_messages"].index_information()
    assert indexes["retention_ttl"]["expireAfterSeconds"] == 0


async def test_meeting_attendees_get_the_schedule_in_their_language_with_a_calendar_invitation(
    world: NotificationsWorld,
) -> None:
    tag = uuid.uuid4().hex[:8]
    reporter = uuid.uuid4()
    meeting = camp.MeetingScheduled(
        campaign_id=uuid.uuid4(),
        owner_organization_id=uuid.uuid4(),
        meeting_id=uuid.uuid4(),
        title="Meeting with Senator Roe",
        starts_at=datetime(2027, 3, 4, 9, 30, tzinfo=UTC),
        ends_at=datetime(2027, 3, 4, 10, 0, tzinfo=UTC),
        place="Parliament, room 4.12",
        link="https://meet.example.org/roe",
        targets=[camp.MeetingTarget(name="Jane Roe", title="Senator", office="Health committee")],
        attendees=[
            camp.MeetingAttendee(
                name="Ana Lima", email=f"ana-{tag}@example.org", language="pt-BR", attendee_id=reporter
            ),
            camp.MeetingAttendee(name="Jo Weber", email=f"jo-{tag}@example.org", language="de"),
            camp.MeetingAttendee(name="Kim Lee", email=f"kim-{tag}@example.org", language="ko"),
        ],
        time_zone="Europe/Berlin",
        agenda="1. Clinic hours\n2. Waiting lists",
        report_url_base="https://campaigns.example.org/v1/public/meeting-reports?report_token=",
    )

    await world.publish(meeting)

    addresses = [a.email for a in meeting.attendees]
    await eventually(
        lambda: all(len(world.sink.to(a)) == 1 for a in addresses), message="one mail per attendee"
    )
    pt, de, fallback = (world.sink.to(a)[0] for a in addresses)
    assert pt.subject.startswith("A sua reunião: Meeting with Senator Roe")
    assert "Olá Ana Lima" in pt.part("plain")
    assert de.subject.startswith("Ihr Termin:")
    assert "Hallo Jo Weber" in de.part("plain")
    assert fallback.subject.startswith("Your meeting:")
    assert "2027-03-04 10:30 CET" in de.part("plain")  # 09:30 UTC, in the meeting's time zone
    assert "Tagesordnung:\n1. Clinic hours\n2. Waiting lists" in de.part("plain").replace("\r\n", "\n")
    token = derive_link_token(DEVELOPMENT_LINK_SECRET, "meeting-report", reporter)
    assert f"{meeting.report_url_base}{token}" in pt.part("plain")  # their own report-back link
    assert "report_token" not in de.part("plain")  # no attendee id: no link
    stored = await world.db["emails"].find_one({"to": meeting.attendees[0].email})
    assert stored is not None
    assert token not in stored["text"]  # derived when sent, never stored
    for mail in (pt, de, fallback):
        [ics] = [a for a in mail.message.iter_attachments() if a.get_filename() == "invitation.ics"]
        calendar = ics.get_content()
        calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
        assert f"UID:meeting-{meeting.meeting_id}@" in calendar
        assert "DTSTART:20270304T093000Z" in calendar
        assert "LOCATION:Parliament\\, room 4.12" in calendar
        assert "Jane Roe (Senator), Health committee" in mail.part("plain")
