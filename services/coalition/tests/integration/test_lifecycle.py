"""Coalitions and the membership lifecycle through the API, with organizations from identity."""

from __future__ import annotations

from coalition_world import CoalitionWorld
from identity_api import assert_problem


async def test_creating_organization_becomes_the_first_lead(world: CoalitionWorld) -> None:
    lead = await world.org("lead")

    coalition = await world.coalition(lead, name="Cystic Fibrosis Coalition")
    members = await world.http.get(f"/v1/coalitions/{coalition['id']}/members", headers=lead.headers)

    assert coalition["status"] == "active"
    assert [(m["organization_id"], m["role"], m["state"]) for m in members.json()] == [
        (lead.id, "lead", "active")
    ]


async def test_invited_organization_accepts_and_becomes_member(world: CoalitionWorld) -> None:
    lead, invitee = await world.org("lead"), await world.org("invitee")
    coalition = await world.coalition(lead)

    invited = await world.invite(coalition["id"], lead, invitee, role="observer")
    accepted = await world.post(f"/v1/coalitions/{coalition['id']}/memberships/{invitee.id}/accept", invitee)

    assert invited.json()["state"] == "invited"
    assert accepted.json() | {"updated_at": None} == accepted.json() | {
        "role": "observer",
        "state": "active",
        "updated_at": None,
    }


async def test_an_organization_applies_and_a_lead_approves(world: CoalitionWorld) -> None:
    lead, applicant = await world.org("lead"), await world.org("applicant")
    coalition = await world.coalition(lead)

    applied = await world.post(
        f"/v1/coalitions/{coalition['id']}/applications",
        applicant,
        {"organization_id": applicant.id, "message": "We run a patient registry"},
    )
    approved = await world.post(f"/v1/coalitions/{coalition['id']}/memberships/{applicant.id}/approve", lead)

    assert applied.json()["state"] == "applied"
    assert approved.json()["state"] == "active"
    assert approved.json()["role"] == "member"


async def test_the_last_lead_can_neither_leave_nor_be_demoted(world: CoalitionWorld) -> None:
    lead = await world.org("lead")
    coalition = await world.coalition(lead)
    path = f"/v1/coalitions/{coalition['id']}/memberships/{lead.id}"

    leave = await world.post(path + "/leave", lead)
    demote = await world.http.patch(path, json={"role": "member"}, headers=lead.headers)

    assert_problem(leave, 409)
    assert_problem(demote, 409)


async def test_transitions_not_allowed_from_the_current_state_are_409(world: CoalitionWorld) -> None:
    lead, other = await world.org("lead"), await world.org("other")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, other)
    base = f"/v1/coalitions/{coalition['id']}/memberships/{other.id}"

    reinstate_active = await world.post(base + "/reinstate", lead)
    approve_active = await world.post(base + "/approve", lead)
    accept_again = await world.post(base + "/accept", other)

    for response in (reinstate_active, approve_active, accept_again):
        body = assert_problem(response, 409)
        assert body["state"] == "active"


async def test_private_coalition_is_invisible_to_outsiders(world: CoalitionWorld) -> None:
    lead, outsider = await world.org("lead"), await world.org("outsider")
    coalition = await world.coalition(lead, visibility="private")

    profile = await world.http.get(f"/v1/coalitions/{coalition['id']}", headers=outsider.headers)
    anonymous = await world.http.get(f"/v1/coalitions/{coalition['id']}/members")
    directory = await world.http.get("/v1/coalitions", params={"limit": 100})

    assert_problem(profile, 404)
    assert_problem(anonymous, 404)
    assert coalition["id"] not in {c["id"] for c in directory.json()["items"]}


async def test_deactivated_organization_is_suspended_everywhere_via_identity_events(
    world: CoalitionWorld,
) -> None:
    from eventually import eventually

    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead)
    await world.member(coalition["id"], lead, member)

    deactivated = await world.identity.http.post(
        f"/v1/organizations/{member.id}/deactivate", headers=member.headers
    )

    assert deactivated.status_code == 200
    await eventually(
        lambda: _is(world.state_of(coalition["id"], member.id), "suspended"),
        within=60,
        message="automatic suspension",
    )
    refused = await world.invite((await world.coalition(lead))["id"], lead, member)
    assert_problem(refused, 409)


async def _is(value: object, expected: str) -> bool:
    return await value == expected  # type: ignore[misc]
