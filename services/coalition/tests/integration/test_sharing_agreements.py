"""Data-sharing agreements are agreements: a lead proposes sharing a member's supporters' contacts, the
member organization's own admins accept or decline, and either side returns to aggregates only at once.

The membership events' `sharing_level` (what the campaigns service shares contacts on) says
`contacts_with_consent` only once the member accepted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from coalition_events import Record, published
from coalition_world import CoalitionWorld, Org
from identity_api import assert_problem, bearer

from common.testing.infra import Infra
from eventually import eventually

CONTACTS, AGGREGATES = "contacts_with_consent", "aggregate_only"
AGREEMENT = "coalition.sharing_agreement."


def sharing(coalition_id: str, org_id: str) -> str:
    return f"/v1/coalitions/{coalition_id}/memberships/{org_id}/sharing"


async def propose(world: CoalitionWorld, coalition_id: str, by: Org, org: Org, level: str) -> httpx.Response:
    return await world.http.put(sharing(coalition_id, org.id), json={"level": level}, headers=by.headers)


async def accept(
    world: CoalitionWorld, coalition_id: str, org: Org, headers: dict[str, str]
) -> httpx.Response:
    return await world.http.post(sharing(coalition_id, org.id) + "/accept", headers=headers)


async def stored(world: CoalitionWorld, coalition_id: str, org: Org) -> dict[str, Any]:
    doc = await world.app.state.coalition.repo.get_membership(uuid.UUID(coalition_id), uuid.UUID(org.id))
    assert doc is not None
    return dict(doc)


async def seen_by(world: CoalitionWorld, coalition_id: str, viewer: Org, org: Org) -> dict[str, Any]:
    response = await world.http.get(f"/v1/coalitions/{coalition_id}/members", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return next(m for m in response.json() if m["organization_id"] == org.id)


async def agreement_events(world: CoalitionWorld, infra: Infra, coalition_id: str, org: Org) -> list[Record]:
    records = await published(world, infra, coalition_id)
    return [r for r in records if r.type.startswith(AGREEMENT) and r.data["organization_id"] == org.id]


async def member_of_new_coalition(world: CoalitionWorld, **fields: Any) -> tuple[Org, Org, str]:
    lead, member = await world.org("lead"), await world.org("member")
    coalition = await world.coalition(lead, **fields)
    await world.member(coalition["id"], lead, member)
    return lead, member, coalition["id"]


# ---- proposing and accepting ------------------------------------------------------------------------


async def test_a_lead_proposal_keeps_aggregates_only_until_the_member_accepts(
    world: CoalitionWorld, infra: Infra
) -> None:
    lead, member, c = await member_of_new_coalition(world)

    proposed = await propose(world, c, lead, member, CONTACTS)

    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["sharing_level"] == AGGREGATES
    assert proposed.json()["sharing_proposal"]["level"] == CONTACTS
    assert proposed.json()["sharing_proposal"]["proposed_by_organization_id"] == lead.id
    assert (await seen_by(world, c, member, member))["sharing_level"] == AGGREGATES
    [event] = await agreement_events(world, infra, c, member)
    assert event.type == AGREEMENT + "proposed"
    assert (event.data["sharing_level"], event.data["proposed_sharing_level"]) == (AGGREGATES, CONTACTS)
    assert event.data["proposed_by_user"] == lead.admin.id
    assert event.data["actor_organization_id"] == lead.id


async def test_the_members_admin_accepts_and_contacts_are_shared_from_then_on(
    world: CoalitionWorld, infra: Infra
) -> None:
    lead, member, c = await member_of_new_coalition(world)
    admin = await world.identity.add_member(member.id, member.admin, role="admin", name="member-admin")
    await propose(world, c, lead, member, CONTACTS)
    before = datetime.now(UTC)

    accepted = await accept(world, c, member, admin.headers)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["sharing_level"] == CONTACTS
    assert accepted.json()["sharing_proposal"] is None
    assert datetime.fromisoformat(accepted.json()["sharing_accepted_at"]) >= before - timedelta(seconds=1)
    assert (await seen_by(world, c, lead, member))["sharing_level"] == CONTACTS
    proposed, changed = await agreement_events(world, infra, c, member)
    assert (proposed.type, changed.type) == (AGREEMENT + "proposed", AGREEMENT + "changed")
    assert (changed.data["previous_sharing_level"], changed.data["sharing_level"]) == (AGGREGATES, CONTACTS)
    assert changed.data["changed_by_user"] == admin.id
    assert changed.data["actor_organization_id"] == member.id
    assert (changed.data["proposed_by_user"], changed.data["proposed_by_organization_id"]) == (
        lead.admin.id,
        lead.id,
    )
    assert changed.data["proposed_sharing_level"] is None
    history = (await stored(world, c, member))["history"]
    assert [(r["transition"], r["by"], r["actor_org"]) for r in history[-2:]] == [
        ("sharing_proposed", lead.admin.id, uuid.UUID(lead.id)),
        ("sharing_accepted", admin.id, uuid.UUID(member.id)),
    ]
    assert before - timedelta(seconds=1) <= history[-1]["at"] <= datetime.now(UTC)


async def test_a_lead_alone_cannot_switch_a_member_to_contacts(world: CoalitionWorld, infra: Infra) -> None:
    lead, member, c = await member_of_new_coalition(world)

    first = await propose(world, c, lead, member, CONTACTS)
    again = await propose(world, c, lead, member, CONTACTS)
    lead_accepts = await accept(world, c, member, lead.headers)

    assert [r.json()["sharing_level"] for r in (first, again)] == [AGGREGATES, AGGREGATES]
    assert_problem(lead_accepts, 403)
    assert (await stored(world, c, member))["sharing_level"] == AGGREGATES
    events = await published(world, infra, c)
    assert {r.data["sharing_level"] for r in events if "sharing_level" in r.data} == {AGGREGATES}
    assert [r.type for r in events if r.type.startswith(AGREEMENT)] == [AGREEMENT + "proposed"]


async def test_a_lead_admin_putting_its_own_organization_on_contacts_is_its_own_acceptance(
    world: CoalitionWorld,
) -> None:
    lead, _, c = await member_of_new_coalition(world)

    changed = await propose(world, c, lead, lead, CONTACTS)

    assert changed.status_code == 200, changed.text
    assert changed.json()["sharing_level"] == CONTACTS
    assert (await stored(world, c, lead))["sharing_acceptance"]["by"] == lead.admin.id


# ---- who may accept -----------------------------------------------------------------------------------


async def test_a_member_organizer_who_is_not_an_admin_cannot_accept(world: CoalitionWorld) -> None:
    lead, member, c = await member_of_new_coalition(world)
    organizer = await world.identity.add_member(member.id, member.admin, role="organizer")
    await propose(world, c, lead, member, CONTACTS)

    response = await accept(world, c, member, organizer.headers)

    assert_problem(response, 403)
    assert (await seen_by(world, c, lead, member))["sharing_level"] == AGGREGATES


async def test_the_members_api_client_cannot_accept_for_it(
    world: CoalitionWorld, identity_http: httpx.AsyncClient
) -> None:
    lead, member, c = await member_of_new_coalition(world)
    await propose(world, c, lead, member, CONTACTS)
    token = await client_token(identity_http, member, ["coalitions:read", "coalitions:write"])

    response = await accept(world, c, member, bearer(token))

    assert "signed in" in assert_problem(response, 403)["detail"]
    assert (await stored(world, c, member))["sharing_level"] == AGGREGATES


@pytest.mark.parametrize("visibility", ["public", "private"])
async def test_another_organization_cannot_accept(world: CoalitionWorld, visibility: str) -> None:
    lead, member, c = await member_of_new_coalition(world, visibility=visibility)
    other = await world.org("other")
    await propose(world, c, lead, member, CONTACTS)

    for_the_member = await accept(world, c, member, other.headers)
    for_itself = await accept(world, c, other, other.headers)

    # Acting for an organization one does not administer is a 403 before the coalition is looked at;
    # for itself, a private coalition is not found and a public one has no membership of it.
    assert_problem(for_the_member, 403)
    assert_problem(for_itself, 404)
    assert (await stored(world, c, member))["sharing_level"] == AGGREGATES


async def test_there_is_nothing_to_accept_without_a_proposal(world: CoalitionWorld) -> None:
    _, member, c = await member_of_new_coalition(world)

    response = await accept(world, c, member, member.headers)

    assert assert_problem(response, 409)["sharing_level"] == AGGREGATES


# ---- stepping back ------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["lead", "member"])
async def test_either_side_returns_to_aggregates_only_at_once(
    world: CoalitionWorld, infra: Infra, side: str
) -> None:
    lead, member, c = await member_of_new_coalition(world)
    await world.set_sharing(c, lead, member, CONTACTS)
    by = lead if side == "lead" else member

    withdrawn = await propose(world, c, by, member, AGGREGATES)

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["sharing_level"] == AGGREGATES
    assert (await stored(world, c, member))["sharing_level"] == AGGREGATES
    changed = (await agreement_events(world, infra, c, member))[-1]
    assert changed.type == AGREEMENT + "changed"
    assert (changed.data["previous_sharing_level"], changed.data["sharing_level"]) == (CONTACTS, AGGREGATES)
    assert changed.data["changed_by_user"] == by.admin.id
    assert changed.data["actor_organization_id"] == by.id
    assert (await stored(world, c, member))["history"][-1]["transition"] == "sharing_withdrawn"


@pytest.mark.parametrize(
    ("side", "how", "event"),
    [
        ("member", "decline", "declined"),
        ("member", "aggregate_only", "declined"),
        ("lead", "aggregate_only", "proposal_withdrawn"),
    ],
)
async def test_a_pending_proposal_is_declined_or_withdrawn_and_can_no_longer_be_accepted(
    world: CoalitionWorld, infra: Infra, side: str, how: str, event: str
) -> None:
    lead, member, c = await member_of_new_coalition(world)
    await propose(world, c, lead, member, CONTACTS)
    by = lead if side == "lead" else member

    if how == "decline":
        ended = await world.http.post(sharing(c, member.id) + "/decline", headers=by.headers)
    else:
        ended = await propose(world, c, by, member, AGGREGATES)
    accepted_after = await accept(world, c, member, member.headers)

    assert ended.status_code == 200, ended.text
    assert (ended.json()["sharing_level"], ended.json()["sharing_proposal"]) == (AGGREGATES, None)
    assert_problem(accepted_after, 409)
    last = (await agreement_events(world, infra, c, member))[-1]
    assert last.type == AGREEMENT + event
    assert (last.data["sharing_level"], last.data["proposed_sharing_level"]) == (AGGREGATES, None)


async def test_a_member_cannot_propose_contacts_for_itself(world: CoalitionWorld) -> None:
    _, member, c = await member_of_new_coalition(world)

    response = await propose(world, c, member, member, CONTACTS)

    assert "lead" in assert_problem(response, 403)["detail"]


async def test_an_organization_that_comes_back_starts_with_aggregates_only(world: CoalitionWorld) -> None:
    lead, member, c = await member_of_new_coalition(world)
    await world.set_sharing(c, lead, member, CONTACTS)
    left = await world.post(f"/v1/coalitions/{c}/memberships/{member.id}/leave", member)
    assert left.status_code == 200, left.text

    await world.member(c, lead, member)

    assert (await seen_by(world, c, lead, member))["sharing_level"] == AGGREGATES


# ---- agreements recorded before acceptance existed -------------------------------------------------------


async def test_an_agreement_without_the_members_acceptance_is_reset_to_a_proposal_by_the_worker(
    world: CoalitionWorld, infra: Infra
) -> None:
    lead, member, c = await member_of_new_coalition(world)
    asked_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    # As the previous version stored a lead's switch: the level, and a history record, nothing else.
    await world.app.state.coalition.repo.db["memberships"].update_one(
        {"coalition_id": uuid.UUID(c), "org_id": uuid.UUID(member.id)},
        {
            "$set": {"sharing_level": CONTACTS},
            "$unset": {"sharing_proposal": "", "sharing_acceptance": ""},
            "$push": {
                "history": {
                    "transition": "sharing_changed",
                    "at": asked_at,
                    "actor_org": uuid.UUID(lead.id),
                    "by": lead.admin.id,
                    "level": CONTACTS,
                }
            },
        },
    )

    async def reset() -> bool:
        return (await stored(world, c, member))["sharing_level"] == AGGREGATES

    await eventually(reset, within=10, message="the worker to reset the unaccepted agreement")
    seen = await seen_by(world, c, member, member)
    assert seen["sharing_level"] == AGGREGATES
    assert seen["sharing_proposal"]["proposed_by_organization_id"] == lead.id
    assert datetime.fromisoformat(seen["sharing_proposal"]["proposed_at"]) == asked_at
    [changed] = await agreement_events(world, infra, c, member)
    assert changed.type == AGREEMENT + "changed"
    assert (changed.data["previous_sharing_level"], changed.data["sharing_level"]) == (CONTACTS, AGGREGATES)
    assert (changed.data["reason"], changed.data["changed_by_user"]) == (
        "member_acceptance_required",
        "coalition-service",
    )
    assert changed.data["proposed_sharing_level"] == CONTACTS

    accepted = await accept(world, c, member, member.headers)

    assert accepted.json()["sharing_level"] == CONTACTS


async def test_a_reset_agreement_is_announced_as_aggregates_even_before_the_worker_runs(
    world: CoalitionWorld, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def paused() -> int:
        return 0

    monkeypatch.setattr(world.app.state.coalition, "require_member_acceptance", paused)
    lead, member, c = await member_of_new_coalition(world)
    await world.app.state.coalition.repo.db["memberships"].update_one(
        {"coalition_id": uuid.UUID(c), "org_id": uuid.UUID(member.id)},
        {"$set": {"sharing_level": CONTACTS}, "$unset": {"sharing_acceptance": ""}},
    )

    demoted = await world.http.patch(
        f"/v1/coalitions/{c}/memberships/{member.id}", json={"role": "observer"}, headers=lead.headers
    )

    assert demoted.status_code == 200, demoted.text
    assert (await seen_by(world, c, lead, member))["sharing_level"] == AGGREGATES
    role_changed = [r for r in await published(world, infra, c) if r.type.endswith("role_changed")]
    assert [r.data["sharing_level"] for r in role_changed] == [AGGREGATES]


# ---- helpers ------------------------------------------------------------------------------------------


async def client_token(identity_http: httpx.AsyncClient, org: Org, scopes: list[str]) -> str:
    client = await identity_http.post(
        f"/v1/organizations/{org.id}/clients",
        json={"name": f"Integration {uuid.uuid4().hex[:6]}", "scopes": scopes},
        headers=org.headers,
    )
    assert client.status_code == 201, client.text
    token = await identity_http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.json()["client_id"],
            "client_secret": client.json()["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])
