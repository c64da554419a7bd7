"""E-mail is sent when queued, in batches over one SMTP connection; names with line breaks of any kind
are mailed on one subject line; an e-mail that cannot be composed is retried and then failed for good."""

from __future__ import annotations

import logging
import uuid

import pytest
from notifications_world import NotificationsWorld

from common.contracts import coalition as coal
from common.events import new_event_id
from common.mongo import Session, in_transaction
from eventually import eventually
from notifications.domain.notices import Notice

# Every character str.splitlines() breaks a line at (CR, LF, VT, FF, FS, GS, RS, NEL, U+2028, U+2029).
LINE_BREAKS = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1]


def test_the_line_break_class_is_the_one_the_issue_names() -> None:
    assert sorted(LINE_BREAKS) == sorted("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


async def _queue_invitations(world: NotificationsWorld, addresses: list[str], org_name: str) -> None:
    """Queue e-mails in one transaction, as a consumer does for one event's recipients."""

    async def work(session: Session) -> None:
        for address in addresses:
            notice = Notice(
                "org_invitation",
                {"org_name": org_name, "role": "member", "email": address, "expires_at": "2030-01-01"},
            )
            await world.stack.notices.notify_address(
                address, notice, event_id=new_event_id(), session=session
            )

    await in_transaction(world.db.client, work)


async def test_mail_queued_together_goes_out_over_one_smtp_connection(world: NotificationsWorld) -> None:
    assert world.stack.settings.delivery_poll_seconds >= 3600  # sent because it was queued, not polled
    tag = uuid.uuid4().hex[:8]
    addresses = [f"batch-{tag}-{i}@example.org" for i in range(6)]

    await _queue_invitations(world, addresses, f"Batch {tag}")

    await eventually(
        lambda: all(len(world.mails_to(a)) == 1 for a in addresses), message="the batch of e-mails"
    )
    connections = {world.mails_to(a)[0].connection for a in addresses}
    assert len(connections) == 1, connections

    async def all_recorded_sent() -> bool:
        stored = await world.db["emails"].find({"to": {"$in": addresses}}).to_list()
        return {(e["status"], e["attempts"]) for e in stored} == {("sent", 1)}

    await eventually(all_recorded_sent, message="each e-mail recorded as sent at the first attempt")


async def test_names_with_any_line_break_are_mailed_on_one_subject_line(world: NotificationsWorld) -> None:
    org = await world.org("linebreaks")
    coalitions = {}
    created = []
    for i, line_break in enumerate([*LINE_BREAKS, "\r\n"]):
        coalition_id = uuid.uuid4()
        name = f"Rare{line_break}Lung {i}"
        coalitions[f"Rare Lung {i}"] = coalition_id
        created.append(
            await world.publish(
                coal.CoalitionCreated(
                    coalition_id=coalition_id,
                    slug=f"lung-{i}",
                    name=name,
                    visibility="public",
                    focus_areas=[],
                    countries=[],
                    lead_organization_id=uuid.uuid4(),
                )
            )
        )
    for event in created:  # coalitions and memberships are two topics: names first
        await world.processed(event)
    for coalition_id in coalitions.values():
        await world.publish(
            coal.MembershipInvited(
                coalition_id=coalition_id,
                organization_id=org.uuid,
                role="member",
                state="invited",
                sharing_level="aggregate_only",
            )
        )

    await eventually(
        lambda: len(world.mails_to(org.admin.email)) == len(coalitions),
        within=60,
        message="one invitation e-mail per coalition",
    )
    subjects = sorted(mail.subject for mail in world.mails_to(org.admin.email))
    for expected in coalitions:
        assert any(subject.endswith(expected) for subject in subjects), (expected, subjects)
    for subject in subjects:
        assert len(subject.splitlines()) == 1, repr(subject)

    async def all_recorded_sent() -> bool:
        stored = await world.db["emails"].find({"to": org.admin.email}).to_list()
        return {e["status"] for e in stored} == {"sent"}

    await eventually(all_recorded_sent, message="each e-mail recorded as sent")
    feed = (await world.http.get("/v1/me/notices", headers=org.headers)).json()["items"]
    assert all(len(n["title"].splitlines()) == 1 for n in feed)


async def test_mail_that_cannot_be_composed_is_retried_then_failed_for_good(
    world: NotificationsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="notifications.mailer")
    tag = uuid.uuid4().hex[:8]
    broken = f"not-an-address-{tag}"  # no domain: the To header cannot be written

    await _queue_invitations(world, [broken], f"Broken {tag}")

    async def failed_for_good() -> bool:
        doc = await world.db["emails"].find_one({"to": broken})
        return doc is not None and doc["status"] == "failed"

    await eventually(failed_for_good, message="the broken e-mail to end failed")
    doc = await world.db["emails"].find_one({"to": broken})
    assert doc is not None
    assert doc["attempts"] == world.stack.settings.mail_max_attempts
    assert doc["last_error"]
    assert doc["lease_owner"] is None
    assert any(
        str(doc["_id"]) in r.getMessage() and "failed for good" in r.getMessage() for r in caplog.records
    )
