"""A coalition may require a current funding declaration of members adopting its campaigns: the setting is
made by the lead's admins at creation or later, read back, and carried on the coalition's events (which
campaigns projects to refuse such adoptions)."""

from __future__ import annotations

from coalition_events import published
from coalition_world import CoalitionWorld
from identity_api import assert_problem

from common.contracts import topics
from common.testing.infra import Infra


async def test_the_lead_sets_the_requirement_and_the_coalitions_events_carry_it(
    world: CoalitionWorld, infra: Infra
) -> None:
    lead, member = await world.org("requiring-lead"), await world.org("required-member")
    created = await world.coalition(lead, require_current_disclosure=True)
    c = created["id"]
    await world.member(c, lead, member)

    by_member = await world.http.patch(
        f"/v1/coalitions/{c}", json={"require_current_disclosure": False}, headers=member.headers
    )
    relaxed = await world.http.patch(
        f"/v1/coalitions/{c}", json={"require_current_disclosure": False}, headers=lead.headers
    )
    renamed = await world.http.patch(f"/v1/coalitions/{c}", json={"name": "Renamed"}, headers=lead.headers)
    read = await world.http.get(f"/v1/coalitions/{c}", headers=member.headers)

    assert created["require_current_disclosure"] is True
    assert_problem(by_member, 403)
    assert relaxed.status_code == 200, relaxed.text
    assert relaxed.json()["require_current_disclosure"] is False
    assert renamed.json()["require_current_disclosure"] is False
    assert read.json()["require_current_disclosure"] is False
    records = [r for r in await published(world, infra, c) if r.topic == topics.COALITION_COALITIONS]
    assert [
        (r.type, r.data["require_current_disclosure"], r.data.get("changed_fields")) for r in records
    ] == [
        ("coalition.coalition.created", True, None),
        ("coalition.coalition.updated", False, ["require_current_disclosure"]),
        ("coalition.coalition.updated", False, ["name"]),
    ]


async def test_the_requirement_is_off_unless_asked_for_and_takes_only_a_boolean(
    world: CoalitionWorld,
) -> None:
    lead = await world.org("plain-lead")
    created = await world.coalition(lead)

    bad_create = await world.http.post(
        "/v1/coalitions",
        json={
            "organization_id": lead.id,
            "slug": "not-a-bool",
            "name": "Bad",
            "mission": "x",
            "require_current_disclosure": "sometimes",
        },
        headers=lead.headers,
    )
    bad_update = await world.http.patch(
        f"/v1/coalitions/{created['id']}", json={"require_current_disclosure": [True]}, headers=lead.headers
    )

    assert created["require_current_disclosure"] is False
    assert_problem(bad_create, 422)
    assert_problem(bad_update, 422)
