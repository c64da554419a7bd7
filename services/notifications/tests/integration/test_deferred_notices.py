"""Notices for organizations and users the projections do not know yet: deferred, then delivered once.

The events that cause the notices are consumed before identity's events of the organization and its
people (as when a coalition invites an organization created a moment ago, on a loaded stack)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from notifications_world import NotificationsWorld
from pymongo.errors import OperationFailure

from common.contracts import campaigns as camp
from common.contracts import coalition as coal
from common.contracts import identity as idn
from common.events import CloudEvent, EventPayload
from eventually import eventually
from notifications.domain.notices import Notice


async def identity_event(world: NotificationsWorld, payload: EventPayload, key: uuid.UUID) -> CloudEvent:
    """Publish an identity event keyed as identity keys it (organization or user id) and wait for it."""
    event = await world.publish(payload, key=str(key))
    await world.processed(event)
    return event


async def org_registered(world: NotificationsWorld, org_id: uuid.UUID, owner_id: uuid.UUID) -> None:
    registered = idn.OrganizationRegistered(
        organization_id=org_id,
        slug=f"new-{org_id.hex[:8]}",
        name="Brand New Association",
        kind="patient_association",
        country="FR",
        registered_by=owner_id,
    )
    await identity_event(world, registered, org_id)


async def person(world: NotificationsWorld, name: str) -> tuple[uuid.UUID, str]:
    """A user registered in identity (as its event says), known here; their id and e-mail address."""
    user_id, email = uuid.uuid4(), f"{name}-{uuid.uuid4().hex[:8]}@example.org"
    await identity_event(world, idn.UserRegistered(user_id=user_id, email=email, display_name=name), user_id)
    return user_id, email


async def notices_of(world: NotificationsWorld, user_id: uuid.UUID, **match: Any) -> list[str]:
    docs = await world.db["notices"].find({"user_id": user_id, **match}).to_list()
    return sorted(d["kind"] for d in docs)


async def invite(world: NotificationsWorld, org_id: uuid.UUID) -> CloudEvent:
    coalition_id = uuid.uuid4()
    await world.publish_and_wait(
        coal.CoalitionCreated(
            coalition_id=coalition_id,
            slug=f"c-{coalition_id.hex[:8]}",
            name="Rare Kidney Alliance",
            visibility="public",
            focus_areas=[],
            countries=[],
            lead_organization_id=uuid.uuid4(),
        )
    )
    return await world.publish_and_wait(
        coal.MembershipInvited(
            coalition_id=coalition_id,
            organization_id=org_id,
            role="member",
            state="invited",
            sharing_level="aggregate_only",
        )
    )


async def test_an_invitation_consumed_before_the_new_organization_reaches_its_owner_once(
    world: NotificationsWorld,
) -> None:
    org_id, owner_id = uuid.uuid4(), uuid.uuid4()
    owner_email = f"owner-{owner_id.hex[:8]}@example.org"
    invited = await invite(world, org_id)
    assert await world.db["deferred_notices"].count_documents({"org_id": org_id}) == 1

    # Identity's events arrive: the organization and its owner's membership, then (another topic) the user.
    await org_registered(world, org_id, owner_id)
    granted = idn.MembershipGranted(organization_id=org_id, user_id=owner_id, role="owner")
    granted_event = await identity_event(world, granted, org_id)
    assert await notices_of(world, owner_id) == []  # no address yet: deferred for the user
    assert await world.db["deferred_notices"].count_documents({"user_id": owner_id}) == 1
    registered = idn.UserRegistered(user_id=owner_id, email=owner_email, display_name="Owner")
    await identity_event(world, registered, owner_id)

    assert await notices_of(world, owner_id, event_id=invited.id) == ["coalition_invited"]
    await eventually(lambda: len(world.mails_to(owner_email)) == 1, within=60, message="the invitation")
    assert "Rare Kidney Alliance" in world.mails_to(owner_email)[0].subject
    assert await world.db["deferred_notices"].count_documents({"user_id": owner_id}) == 0

    # The membership event again (a relay's redelivery), then news of the same membership (a new event):
    # nothing is delivered twice. Both ride the organization's key, so once the second is consumed, so is
    # the first.
    await world.producer.publish(
        granted_event.to_bytes(),
        topic=granted.topic,
        key=str(org_id).encode(),
        headers={"content-type": "application/cloudevents+json"},
    )
    again = idn.MembershipRoleChanged(
        organization_id=org_id, user_id=owner_id, previous_role="owner", role="owner", changed_by=owner_id
    )
    await identity_event(world, again, org_id)
    await identity_event(world, registered, owner_id)  # the user's event again, as a new event
    assert await notices_of(world, owner_id) == ["coalition_invited"]
    assert await world.db["emails"].count_documents({"user_id": owner_id, "event_id": invited.id}) == 1
    assert len(world.mails_to(owner_email)) == 1


async def test_later_members_get_it_if_their_role_qualifies_and_nobody_twice(
    world: NotificationsWorld,
) -> None:
    """Deferred notices stay until they expire: an admin who joins the new organization later is told
    too, a plain member is not (until made admin), and someone who got the notice through another of
    its organizations is not told again."""
    known = await world.org("adopter")  # known here: its owner is told at once
    new_org, owner_id = uuid.uuid4(), uuid.uuid4()
    campaign_id = uuid.uuid4()
    adopted = await world.publish_and_wait(
        camp.CampaignAdopted(
            campaign_id=campaign_id, owner_organization_id=new_org, organization_id=known.uuid
        )
    )
    milestone = await world.publish_and_wait(
        camp.MilestoneReached(
            campaign_id=campaign_id,
            owner_organization_id=new_org,
            milestone=25,
            metric="actions",
            value=25,
            target=100,
        )
    )
    known_admin = uuid.UUID(known.admin.id)
    assert await notices_of(world, known_admin, event_id=milestone.id) == ["goal_milestone"]

    await org_registered(world, new_org, owner_id)
    organizer_id, _ = await person(world, "organizer")
    member_id, _ = await person(world, "member")
    for user_id, role in ((organizer_id, "organizer"), (member_id, "member"), (known_admin, "admin")):
        granted = idn.MembershipGranted(organization_id=new_org, user_id=user_id, role=role)
        await identity_event(world, granted, new_org)

    # Milestones concern organizers, adoptions owners and admins only.
    assert await notices_of(world, organizer_id) == ["goal_milestone"]
    assert await notices_of(world, member_id) == []
    by_event = {"event_id": {"$in": [adopted.id, milestone.id]}}
    assert await notices_of(world, known_admin, **by_event) == ["campaign_adopted", "goal_milestone"]

    promoted = idn.MembershipRoleChanged(
        organization_id=new_org, user_id=member_id, previous_role="member", role="admin", changed_by=owner_id
    )
    await identity_event(world, promoted, new_org)
    assert await notices_of(world, member_id) == ["campaign_adopted", "goal_milestone"]
    assert await notices_of(world, organizer_id) == ["goal_milestone"]


async def test_a_notice_to_a_known_organization_is_delivered_at_once(world: NotificationsWorld) -> None:
    org = await world.org("known")
    invited = await invite(world, org.uuid)
    assert await notices_of(world, uuid.UUID(org.admin.id), event_id=invited.id) == ["coalition_invited"]
    assert await world.db["emails"].count_documents({"event_id": invited.id}) == 1
    assert await world.db["deferred_notices"].count_documents({"event_id": invited.id}) == 0


async def test_deferring_and_learning_of_the_organization_at_once_cannot_both_commit(
    world: NotificationsWorld,
) -> None:
    """The consumer that defers a notice and the one that learns of the organization's member run
    concurrently; each could miss the other's uncommitted write. They write the same document, so the
    second to write gets a transient write conflict (its transaction is retried and then sees the first)."""
    notices, client = world.stack.notices, world.db.client
    org_id, user_id = uuid.uuid4(), uuid.uuid4()
    notice = Notice("coalition_invited", {"coalition_name": "C", "org_name": "O", "role": "member"})
    async with client.start_session() as deferring, client.start_session() as learning:
        await deferring.start_transaction()
        await learning.start_transaction()
        await world.db["org_members"].find_one({"org_id": org_id}, session=learning)  # its snapshot
        await notices.notify_orgs([org_id], notice, event_id=f"race-{org_id}", session=deferring)
        with pytest.raises(OperationFailure) as conflict:
            await notices.member_learned(org_id, user_id, "owner", learning)
        assert conflict.value.has_error_label("TransientTransactionError")
        await learning.abort_transaction()
        await deferring.abort_transaction()
