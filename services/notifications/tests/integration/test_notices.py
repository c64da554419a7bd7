"""Notices by e-mail over real SMTP (to the sink) and in the in-app feed, with per-category opt-outs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from notifications_world import NotificationsWorld

from common.contracts import campaigns as camp
from common.contracts import coalition as coal
from eventually import eventually


async def test_organization_invitation_is_mailed_without_the_token(world: NotificationsWorld) -> None:
    org = await world.org("inviter")
    invitee = f"invitee-{uuid.uuid4().hex[:8]}@example.org"

    invited = await world.identity.http.post(
        f"/v1/organizations/{org.id}/invitations",
        json={"email": invitee, "role": "organizer"},
        headers=org.headers,
    )
    assert invited.status_code == 201, invited.text

    await eventually(lambda: len(world.mails_to(invitee)) == 1, within=60, message="the invitation e-mail")
    mail = world.mails_to(invitee)[0]
    assert "Inviter Association" in mail.subject
    text, html = mail.part("plain"), mail.part("html")
    assert "organizer" in text
    assert invitee in text
    assert "Inviter Association" in html
    assert invited.json()["token"] not in text + html
    assert mail.path is not None
    assert mail.path.read_bytes()


async def test_coalition_invitation_tells_the_invited_organizations_admins(world: NotificationsWorld) -> None:
    org = await world.org("invited")
    coalition_id = uuid.uuid4()
    await world.publish_and_wait(
        coal.CoalitionCreated(
            coalition_id=coalition_id,
            slug="lung",
            name="Rare Lung Alliance",
            visibility="public",
            focus_areas=[],
            countries=[],
            lead_organization_id=uuid.uuid4(),
        )
    )
    event = await world.publish(
        coal.MembershipInvited(
            coalition_id=coalition_id,
            organization_id=org.uuid,
            role="member",
            state="invited",
            sharing_level="aggregate_only",
        )
    )
    await world.processed(event)

    await eventually(lambda: len(world.mails_to(org.admin.email)) == 1, message="the coalition invitation")
    assert "Rare Lung Alliance" in world.mails_to(org.admin.email)[0].subject
    feed = (await world.http.get("/v1/me/notices", headers=org.headers)).json()
    assert [n["category"] for n in feed["items"]] == ["coalition_membership"]


async def test_opting_out_of_milestone_mail_keeps_the_in_app_notice(world: NotificationsWorld) -> None:
    org = await world.org("milestones")
    chosen = await world.http.patch(
        "/v1/me/preferences",
        json={"categories": {"goal_milestone": {"email": False}}},
        headers=org.headers,
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["categories"]["goal_milestone"] == {"email": False, "in_app": True}
    campaign_id = uuid.uuid4()
    await world.publish_and_wait(
        camp.CampaignCreated(
            campaign_id=campaign_id,
            owner_organization_id=org.uuid,
            kind="petition",
            title="Clean Air Now",
            status="active",
            goal=camp.Goal(metric="actions", target=100, deadline=datetime(2030, 1, 1, tzinfo=UTC)),
        )
    )
    await world.publish_and_wait(
        camp.MilestoneReached(
            campaign_id=campaign_id,
            owner_organization_id=org.uuid,
            milestone=50,
            metric="actions",
            value=50,
            target=100,
        )
    )
    adopter = await world.org("adopting")
    await world.publish_and_wait(
        camp.CampaignAdopted(
            campaign_id=campaign_id, owner_organization_id=org.uuid, organization_id=adopter.uuid
        )
    )

    await eventually(lambda: len(world.mails_to(org.admin.email)) == 1, message="the adoption e-mail")
    assert "adopted" in world.mails_to(org.admin.email)[0].subject
    notices = {"user_id": uuid.UUID(org.admin.id), "category": {"$ne": "account"}}  # not the verification
    queued = await world.db["emails"].count_documents(notices)
    assert queued == 1  # the milestone was never queued for e-mail
    feed = (await world.http.get("/v1/me/notices", headers=org.headers)).json()["items"]
    assert sorted(n["category"] for n in feed) == ["campaign_adoption", "goal_milestone"]
    assert any("Clean Air Now" in n["title"] and "50%" in n["title"] for n in feed)


async def test_feed_unread_count_and_mark_read(world: NotificationsWorld) -> None:
    org = await world.org("reader")
    campaign_id = uuid.uuid4()
    for milestone in (25, 50):
        await world.publish_and_wait(
            camp.MilestoneReached(
                campaign_id=campaign_id,
                owner_organization_id=org.uuid,
                milestone=milestone,
                metric="actions",
                value=milestone,
                target=100,
            )
        )
    count = await world.http.get("/v1/me/notices/unread-count", headers=org.headers)
    assert count.json() == {"unread": 2}
    feed = (await world.http.get("/v1/me/notices", headers=org.headers)).json()["items"]

    read = await world.http.post(f"/v1/me/notices/{feed[0]['id']}/read", headers=org.headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert (await world.http.get("/v1/me/notices/unread-count", headers=org.headers)).json() == {"unread": 1}
    unread = (await world.http.get("/v1/me/notices", params={"unread": "true"}, headers=org.headers)).json()
    assert [n["id"] for n in unread["items"]] == [feed[1]["id"]]
    everything = await world.http.post("/v1/me/notices/read", headers=org.headers)
    assert everything.json() == {"marked": 1}
    other = await world.org("nosy")
    assert (
        await world.http.post(f"/v1/me/notices/{feed[1]['id']}/read", headers=other.headers)
    ).status_code == 404
