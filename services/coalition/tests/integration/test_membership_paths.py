"""Every path of the membership lifecycle through the API, the refusals on the way, and the directory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from coalition_world import CoalitionWorld, Org
from identity_api import assert_problem

from eventually import eventually


def membership(coalition_id: str, org_id: str) -> str:
    return f"/v1/coalitions/{coalition_id}/memberships/{org_id}"


async def members_of(world: CoalitionWorld, coalition_id: str, who: Org) -> dict[str, dict[str, Any]]:
    response = await world.http.get(f"/v1/coalitions/{coalition_id}/members", headers=who.headers)
    assert response.status_code == 200, response.text
    return {m["organization_id"]: m for m in response.json()}


async def make_invitation_due(world: CoalitionWorld, coalition_id: str, org_id: str) -> None:
    updated = await world.app.state.coalition.repo.db["memberships"].update_one(
        {"coalition_id": uuid.UUID(coalition_id), "org_id": uuid.UUID(org_id)},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(minutes=1)}},
    )
    assert updated.modified_count == 1


async def history_of(world: CoalitionWorld, coalition_id: str, org_id: str) -> list[dict[str, Any]]:
    doc = await world.app.state.coalition.repo.get_membership(uuid.UUID(coalition_id), uuid.UUID(org_id))
    assert doc is not None
    return list(doc["history"])


# ---- invitations -----------------------------------------------------------------------------------


async def test_invited_organization_declines_and_does_not_join(world: CoalitionWorld) -> None:
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)

    declined = await world.post(membership(coalition["id"], invitee.id) + "/decline", invitee)
    accept_after = await world.post(membership(coalition["id"], invitee.id) + "/accept", invitee)

    assert declined.status_code == 200, declined.text
    assert declined.json()["state"] == "declined"
    assert_problem(accept_after, 409)
    assert invitee.id not in await members_of(world, coalition["id"], lead)


async def test_invitation_is_stamped_with_an_expiry_date(world: CoalitionWorld) -> None:
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)

    invited = await world.invite(coalition["id"], lead, invitee)

    expires_at = datetime.fromisoformat(invited.json()["expires_at"])
    ttl = timedelta(days=world.app.state.settings.invitation_ttl_days)
    assert abs(expires_at - (datetime.now(UTC) + ttl)) < timedelta(minutes=1)


async def test_accepting_an_expired_invitation_is_410_and_the_invitation_ends_expired(
    world: CoalitionWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def sweeper_paused() -> int:
        return 0

    # The sweeper would otherwise race this request to the expiry (and the accept would be a 409).
    monkeypatch.setattr(world.app.state.coalition, "expire_due_invitations", sweeper_paused)
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)
    await make_invitation_due(world, coalition["id"], invitee.id)

    accepted = await world.post(membership(coalition["id"], invitee.id) + "/accept", invitee)

    assert_problem(accepted, 410)
    assert await world.state_of(coalition["id"], invitee.id) == "expired"
    assert (await history_of(world, coalition["id"], invitee.id))[-1]["reason"] == "invitation_expired"


async def test_the_sweeper_expires_a_due_invitation_on_its_own(world: CoalitionWorld) -> None:
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)

    await make_invitation_due(world, coalition["id"], invitee.id)

    async def expired() -> bool:
        return await world.state_of(coalition["id"], invitee.id) == "expired"

    await eventually(expired, within=10, message="the sweeper to expire the invitation")


async def test_an_invitation_that_is_not_due_is_left_alone_by_the_sweeper(world: CoalitionWorld) -> None:
    lead, invitee, due = await world.org("lead"), await world.org("invitee"), await world.org("due")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)
    await world.invite(coalition["id"], lead, due)
    await make_invitation_due(world, coalition["id"], due.id)

    async def due_expired() -> bool:
        return await world.state_of(coalition["id"], due.id) == "expired"

    await eventually(due_expired, within=10, message="the sweeper to expire the due invitation")
    assert await world.state_of(coalition["id"], invitee.id) == "invited"


async def test_an_expired_invitation_can_be_renewed(world: CoalitionWorld) -> None:
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)
    await make_invitation_due(world, coalition["id"], invitee.id)

    async def expired() -> bool:
        return await world.state_of(coalition["id"], invitee.id) == "expired"

    await eventually(expired, within=10, message="the invitation to expire")

    again = await world.invite(coalition["id"], lead, invitee, role="observer")
    accepted = await world.post(membership(coalition["id"], invitee.id) + "/accept", invitee)

    assert again.status_code == 201, again.text
    assert (accepted.json()["role"], accepted.json()["state"]) == ("observer", "active")


async def test_only_admins_of_the_invited_organization_answer_the_invitation(world: CoalitionWorld) -> None:
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)
    plain = await world.identity.add_member(invitee.id, invitee.admin, role="member")
    admin = await world.identity.add_member(invitee.id, invitee.admin, role="admin", name="admin")
    path = membership(coalition["id"], invitee.id)

    by_plain_member = await world.http.post(path + "/accept", headers=plain.headers)
    declined_by_plain_member = await world.http.post(path + "/decline", headers=plain.headers)
    by_inviting_lead = await world.post(path + "/accept", lead)
    state_meanwhile = await world.state_of(coalition["id"], invitee.id)
    by_admin = await world.http.post(path + "/accept", headers=admin.headers)

    assert_problem(by_plain_member, 403)
    assert_problem(declined_by_plain_member, 403)
    assert_problem(by_inviting_lead, 403)
    assert state_meanwhile == "invited"
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["state"] == "active"


async def test_inviting_an_unknown_organization_is_422(world: CoalitionWorld) -> None:
    lead = await world.org("lead")
    coalition = await world.coalition(lead)
    unknown = str(uuid.uuid4())

    response = await world.post(
        f"/v1/coalitions/{coalition['id']}/invitations", lead, {"organization_id": unknown}
    )

    body = assert_problem(response, 422)
    assert body["field"] == "organization_id"
    assert await world.state_of(coalition["id"], unknown) is None


async def test_inviting_an_organization_already_in_the_coalition_is_409(world: CoalitionWorld) -> None:
    lead, member, invitee = await world.org("lead"), await world.org("member"), await world.org("invitee")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)
    await world.invite(coalition["id"], lead, invitee)

    member_again = await world.invite(coalition["id"], lead, member)
    invitee_again = await world.invite(coalition["id"], lead, invitee)
    lead_itself = await world.invite(coalition["id"], lead, lead)

    assert assert_problem(member_again, 409)["state"] == "active"
    assert assert_problem(invitee_again, 409)["state"] == "invited"
    assert assert_problem(lead_itself, 409)["state"] == "active"


# ---- applications ----------------------------------------------------------------------------------


async def test_a_lead_rejects_an_application(world: CoalitionWorld) -> None:
    lead, applicant = await world.org("lead"), await world.org("applicant")
    coalition = await world.coalition(lead)
    await world.post(
        f"/v1/coalitions/{coalition['id']}/applications", applicant, {"organization_id": applicant.id}
    )

    rejected = await world.post(
        membership(coalition["id"], applicant.id) + "/reject", lead, {"reason": "Out of scope"}
    )
    approve_after = await world.post(membership(coalition["id"], applicant.id) + "/approve", lead)

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    assert (await history_of(world, coalition["id"], applicant.id))[-1]["reason"] == "Out of scope"
    assert_problem(approve_after, 409)
    assert applicant.id not in await members_of(world, coalition["id"], lead)


async def test_leads_see_pending_applications_and_invitations_in_the_member_list(
    world: CoalitionWorld,
) -> None:
    lead, member, applicant, invitee = (
        await world.org("lead"),
        await world.org("member"),
        await world.org("applicant"),
        await world.org("invitee"),
    )
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)
    await world.post(
        f"/v1/coalitions/{coalition['id']}/applications", applicant, {"organization_id": applicant.id}
    )
    await world.invite(coalition["id"], lead, invitee)

    seen_by_lead = await members_of(world, coalition["id"], lead)
    seen_by_member = await members_of(world, coalition["id"], member)

    assert {k: v["state"] for k, v in seen_by_lead.items()} == {
        lead.id: "active",
        member.id: "active",
        applicant.id: "applied",
        invitee.id: "invited",
    }
    assert set(seen_by_member) == {lead.id, member.id}


async def test_an_organization_cannot_apply_to_a_private_coalition(world: CoalitionWorld) -> None:
    lead, outsider, invitee = await world.org("lead"), await world.org("outsider"), await world.org("invitee")
    coalition = await world.coalition(lead, visibility="private")
    await world.invite(coalition["id"], lead, invitee)
    applications = f"/v1/coalitions/{coalition['id']}/applications"

    by_outsider = await world.post(applications, outsider, {"organization_id": outsider.id})
    by_invitee = await world.post(applications, invitee, {"organization_id": invitee.id})

    # An outsider does not learn that the private coalition exists; an invitee, who sees it, is told why.
    assert_problem(by_outsider, 404)
    assert "invitation only" in assert_problem(by_invitee, 403)["detail"]
    assert await world.state_of(coalition["id"], outsider.id) is None
    assert await world.state_of(coalition["id"], invitee.id) == "invited"


async def test_an_organization_applies_only_for_itself(world: CoalitionWorld) -> None:
    lead, applicant, other = await world.org("lead"), await world.org("applicant"), await world.org("other")
    coalition = await world.coalition(lead)

    response = await world.post(
        f"/v1/coalitions/{coalition['id']}/applications", applicant, {"organization_id": other.id}
    )

    assert_problem(response, 403)
    assert await world.state_of(coalition["id"], other.id) is None


async def test_a_lead_cannot_approve_an_organization_that_never_applied(world: CoalitionWorld) -> None:
    lead, stranger = await world.org("lead"), await world.org("stranger")
    coalition = await world.coalition(lead)

    response = await world.post(membership(coalition["id"], stranger.id) + "/approve", lead)

    assert_problem(response, 404)
    assert await world.state_of(coalition["id"], stranger.id) is None


# ---- members ---------------------------------------------------------------------------------------


async def test_a_lead_changes_a_members_role(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)

    changed = await world.http.patch(
        membership(coalition["id"], member.id), json={"role": "observer"}, headers=lead.headers
    )

    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["state"]) == ("observer", "active")
    assert (await members_of(world, coalition["id"], lead))[member.id]["role"] == "observer"


async def test_a_promoted_lead_lets_the_founding_lead_leave(world: CoalitionWorld) -> None:
    founder, successor = await world.org("founder"), await world.org("successor")
    coalition = await world.coalition(founder)
    await world.member(coalition["id"], founder, successor)

    promoted = await world.http.patch(
        membership(coalition["id"], successor.id), json={"role": "lead"}, headers=founder.headers
    )
    left = await world.post(membership(coalition["id"], founder.id) + "/leave", founder)
    members = await members_of(world, coalition["id"], successor)

    assert promoted.json()["role"] == "lead"
    assert left.status_code == 200, left.text
    assert {k: (v["role"], v["state"]) for k, v in members.items()} == {successor.id: ("lead", "active")}


async def test_changing_the_role_of_a_suspended_member_is_409(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)
    await world.post(membership(coalition["id"], member.id) + "/suspend", lead)

    response = await world.http.patch(
        membership(coalition["id"], member.id), json={"role": "lead"}, headers=lead.headers
    )

    assert assert_problem(response, 409)["state"] == "suspended"


async def test_a_lead_suspends_and_reinstates_a_member(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member, role="member")
    path = membership(coalition["id"], member.id)

    suspended = await world.post(path + "/suspend", lead, {"reason": "Unpaid dues"})
    suspend_again = await world.post(path + "/suspend", lead)
    listed_while_suspended = (await members_of(world, coalition["id"], lead))[member.id]["state"]
    reinstated = await world.post(path + "/reinstate", lead)

    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["state"] == "suspended"
    assert assert_problem(suspend_again, 409)["state"] == "suspended"
    assert listed_while_suspended == "suspended"
    assert reinstated.status_code == 200, reinstated.text
    assert (reinstated.json()["state"], reinstated.json()["role"]) == ("active", "member")


async def test_a_member_leaves(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)

    left = await world.post(membership(coalition["id"], member.id) + "/leave", member)
    leave_again = await world.post(membership(coalition["id"], member.id) + "/leave", member)

    assert left.status_code == 200, left.text
    assert left.json()["state"] == "left"
    assert assert_problem(leave_again, 409)["state"] == "left"
    assert member.id not in await members_of(world, coalition["id"], lead)


async def test_a_suspended_member_can_still_leave(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)
    await world.post(membership(coalition["id"], member.id) + "/suspend", lead)

    left = await world.post(membership(coalition["id"], member.id) + "/leave", member)

    assert left.status_code == 200, left.text
    assert left.json()["state"] == "left"


async def test_a_lead_removes_a_member(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)

    removed = await world.http.delete(membership(coalition["id"], member.id), headers=lead.headers)
    reinstate_after = await world.post(membership(coalition["id"], member.id) + "/reinstate", lead)

    assert removed.status_code == 200, removed.text
    assert removed.json()["state"] == "removed"
    assert assert_problem(reinstate_after, 409)["state"] == "removed"
    assert member.id not in await members_of(world, coalition["id"], lead)


async def test_the_last_lead_cannot_be_removed_or_suspended(world: CoalitionWorld) -> None:
    lead = await world.org("lead")
    coalition = await world.coalition(lead)
    path = membership(coalition["id"], lead.id)

    removed = await world.http.delete(path, headers=lead.headers)
    suspended = await world.post(path + "/suspend", lead)

    assert_problem(removed, 409)
    assert_problem(suspended, 409)
    assert await world.state_of(coalition["id"], lead.id) == "active"


async def test_an_organization_that_left_can_be_invited_again(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)
    await world.post(membership(coalition["id"], member.id) + "/leave", member)

    invited = await world.invite(coalition["id"], lead, member, role="observer")
    accepted = await world.post(membership(coalition["id"], member.id) + "/accept", member)

    assert invited.status_code == 201, invited.text
    assert invited.json()["state"] == "invited"
    assert (accepted.json()["role"], accepted.json()["state"]) == ("observer", "active")
    assert [h["transition"] for h in await history_of(world, coalition["id"], member.id)] == [
        "invite",
        "accept",
        "leave",
        "invite",
        "accept",
    ]


async def test_a_removed_organization_can_apply_again(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)
    await world.http.delete(membership(coalition["id"], member.id), headers=lead.headers)

    applied = await world.post(
        f"/v1/coalitions/{coalition['id']}/applications", member, {"organization_id": member.id}
    )

    assert applied.status_code == 201, applied.text
    assert (applied.json()["role"], applied.json()["state"]) == ("member", "applied")


# ---- archived coalitions ---------------------------------------------------------------------------


async def test_an_archived_coalition_refuses_invitations_and_applications(world: CoalitionWorld) -> None:
    lead, invitee, applicant = (
        await world.org("lead"),
        await world.org("invitee"),
        await world.org("applicant"),
    )
    coalition = await world.coalition(lead)

    archived = await world.post(f"/v1/coalitions/{coalition['id']}/archive", lead)
    invited = await world.invite(coalition["id"], lead, invitee)
    applied = await world.post(
        f"/v1/coalitions/{coalition['id']}/applications", applicant, {"organization_id": applicant.id}
    )

    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    assert "archived" in assert_problem(invited, 409)["detail"]
    assert "archived" in assert_problem(applied, 409)["detail"]
    assert await world.state_of(coalition["id"], invitee.id) is None
    assert await world.state_of(coalition["id"], applicant.id) is None


async def test_a_pending_invitation_cannot_be_accepted_once_the_coalition_is_archived(
    world: CoalitionWorld,
) -> None:
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)
    await world.post(f"/v1/coalitions/{coalition['id']}/archive", lead)

    accepted = await world.post(membership(coalition["id"], invitee.id) + "/accept", invitee)

    assert "archived" in assert_problem(accepted, 409)["detail"]
    assert await world.state_of(coalition["id"], invitee.id) == "invited"


async def test_an_archived_coalition_is_archived_once_and_no_longer_edited(world: CoalitionWorld) -> None:
    lead = await world.org("lead")
    coalition = await world.coalition(lead)
    await world.post(f"/v1/coalitions/{coalition['id']}/archive", lead)

    again = await world.post(f"/v1/coalitions/{coalition['id']}/archive", lead)
    edited = await world.http.patch(
        f"/v1/coalitions/{coalition['id']}", json={"name": "Revived"}, headers=lead.headers
    )
    directory = await world.http.get("/v1/coalitions", params={"q": coalition["slug"], "limit": 100})

    assert_problem(again, 409)
    assert "archived" in assert_problem(edited, 409)["detail"]
    assert coalition["id"] not in {c["id"] for c in directory.json()["items"]}


# ---- sharing agreements ----------------------------------------------------------------------------


async def test_the_default_sharing_agreement_is_aggregate_only(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)

    await world.member(coalition["id"], lead, member)

    assert {m["sharing_level"] for m in (await members_of(world, coalition["id"], lead)).values()} == {
        "aggregate_only"
    }


async def test_a_non_lead_cannot_change_a_sharing_agreement(world: CoalitionWorld) -> None:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)

    own = await world.http.put(
        membership(coalition["id"], member.id) + "/sharing",
        json={"level": "contacts_with_consent"},
        headers=member.headers,
    )
    leads = await world.http.put(
        membership(coalition["id"], lead.id) + "/sharing",
        json={"level": "contacts_with_consent"},
        headers=member.headers,
    )

    assert_problem(own, 403)
    assert_problem(leads, 403)
    assert {m["sharing_level"] for m in (await members_of(world, coalition["id"], lead)).values()} == {
        "aggregate_only"
    }


async def test_a_sharing_agreement_needs_a_membership(world: CoalitionWorld) -> None:
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)

    response = await world.http.put(
        membership(coalition["id"], invitee.id) + "/sharing",
        json={"level": "contacts_with_consent"},
        headers=lead.headers,
    )

    assert_problem(response, 404)


async def test_the_member_list_hides_sharing_levels_from_observers(world: CoalitionWorld) -> None:
    lead, member, observer = await world.org("lead"), await world.org("member"), await world.org("observer")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member, role="member")
    await world.member(coalition["id"], lead, observer, role="observer")

    seen_by_observer = await members_of(world, coalition["id"], observer)
    seen_by_member = await members_of(world, coalition["id"], member)

    assert set(seen_by_observer) == set(seen_by_member) == {lead.id, member.id, observer.id}
    assert {m["sharing_level"] for m in seen_by_observer.values()} == {None}
    assert {m["sharing_level"] for m in seen_by_member.values()} == {"aggregate_only"}
    assert {k: m["role"] for k, m in seen_by_observer.items()} == {
        lead.id: "lead",
        member.id: "member",
        observer.id: "observer",
    }


# ---- the directory ---------------------------------------------------------------------------------


async def directory(world: CoalitionWorld, **params: Any) -> dict[str, Any]:
    response = await world.http.get("/v1/coalitions", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_directory_searches_public_coalitions_by_focus_area_country_and_text(
    world: CoalitionWorld,
) -> None:
    lead = await world.org("lead")
    tag, word = f"tag-{uuid.uuid4().hex[:8]}", f"Word{uuid.uuid4().hex[:8]}"
    dutch = await world.coalition(lead, focus_areas=[tag], countries=["NL"], name=f"Dutch {word} Network")
    french = await world.coalition(lead, focus_areas=[tag], countries=["FR"], mission=f"About {word}")
    private = await world.coalition(lead, focus_areas=[tag], countries=["NL"], visibility="private")
    archived = await world.coalition(lead, focus_areas=[tag], countries=["NL"], name=f"Old {word}")
    await world.post(f"/v1/coalitions/{archived['id']}/archive", lead)

    by_focus = await directory(world, focus_area=tag.upper(), limit=100)
    by_focus_and_country = await directory(world, focus_area=tag, country="NL", limit=100)
    by_text = await directory(world, q=word.lower(), limit=100)
    by_tag_text = await directory(world, q=tag[4:], limit=100)

    ids = {"dutch": dutch["id"], "french": french["id"], "private": private["id"]}
    names = {v: k for k, v in ids.items()}
    assert sorted(names.get(c["id"], c["id"]) for c in by_focus["items"]) == ["dutch", "french"]
    assert [names.get(c["id"], c["id"]) for c in by_focus_and_country["items"]] == ["dutch"]
    assert sorted(names.get(c["id"], c["id"]) for c in by_text["items"]) == ["dutch", "french"]
    assert sorted(names.get(c["id"], c["id"]) for c in by_tag_text["items"]) == ["dutch", "french"]


async def test_the_directory_pages_with_a_cursor(world: CoalitionWorld) -> None:
    lead = await world.org("lead")
    tag = f"paged-{uuid.uuid4().hex[:8]}"
    created = {(await world.coalition(lead, focus_areas=[tag]))["id"] for _ in range(3)}

    first = await directory(world, focus_area=tag, limit=2)
    second = await directory(world, focus_area=tag, limit=2, cursor=first["next_cursor"])

    assert len(first["items"]) == 2
    assert first["next_cursor"]
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    first_ids, second_ids = {c["id"] for c in first["items"]}, {c["id"] for c in second["items"]}
    assert not first_ids & second_ids
    assert first_ids | second_ids == created


@pytest.mark.parametrize("limit", [0, 101])
async def test_the_directory_page_size_is_bounded(world: CoalitionWorld, limit: int) -> None:
    response = await world.http.get("/v1/coalitions", params={"limit": limit})

    assert_problem(response, 422)


async def test_an_organizations_coalitions_include_private_ones_for_its_own_people_only(
    world: CoalitionWorld,
) -> None:
    lead, outsider = await world.org("lead"), await world.org("outsider")
    public = await world.coalition(lead)
    private = await world.coalition(lead, visibility="private")
    colleague = await world.identity.add_member(lead.id, lead.admin, role="member")
    path = f"/v1/organizations/{lead.id}/coalitions"

    own = await world.http.get(path, headers=lead.headers)
    by_colleague = await world.http.get(path, headers=colleague.headers)
    by_outsider = await world.http.get(path, headers=outsider.headers)
    anonymous = await world.http.get(path)

    both = {public["id"]: ("lead", "active"), private["id"]: ("lead", "active")}
    assert {c["coalition"]["id"]: (c["role"], c["state"]) for c in own.json()} == both
    assert {c["coalition"]["id"]: (c["role"], c["state"]) for c in by_colleague.json()} == both
    assert [c["coalition"]["id"] for c in by_outsider.json()] == [public["id"]]
    assert [c["coalition"]["id"] for c in anonymous.json()] == [public["id"]]


async def test_an_organizations_pending_invitations_are_shown_to_its_own_people_only(
    world: CoalitionWorld,
) -> None:
    lead, invitee, outsider = await world.org("lead"), await world.org("invitee"), await world.org("outsider")
    coalition = await world.coalition(lead)
    await world.invite(coalition["id"], lead, invitee)
    path = f"/v1/organizations/{invitee.id}/coalitions"

    own = await world.http.get(path, headers=invitee.headers)
    by_outsider = await world.http.get(path, headers=outsider.headers)

    assert [(c["coalition"]["id"], c["state"]) for c in own.json()] == [(coalition["id"], "invited")]
    assert by_outsider.json() == []
