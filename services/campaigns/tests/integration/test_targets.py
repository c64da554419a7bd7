"""Directories of decision-makers: CSV import (all rows or none, every error reported), versions kept on
every edit, lookup by postal code across levels, and who may read and keep an organization's or a
coalition's directory."""

from __future__ import annotations

from typing import Any

from campaigns_world import CampaignsWorld, problem
from coalition_world import Org
from targets_world import BRUSSELS, as_json, decision_maker, imported, letter_campaign, target_csv


async def listed(cw: CampaignsWorld, org: Org, **params: Any) -> list[dict[str, Any]]:
    response = await cw.get("/v1/targets", org, **{"organization_id": org.id, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_a_valid_csv_imports_every_row_as_a_first_version(cw: CampaignsWorld) -> None:
    org = await cw.org("directory")

    targets = await imported(cw, org, BRUSSELS[:3])

    assert sorted(t["name"] for t in targets) == ["Lea Local", "Nina National", "Rui Regional"]
    assert {t["version"] for t in targets} == {1}
    assert {t["organization_id"] for t in targets} == {org.id}
    regional = next(t for t in targets if t["level"] == "regional")
    assert regional["postal_codes"] == ["10*", "11*"]
    assert sorted(t["id"] for t in await listed(cw, org)) == sorted(t["id"] for t in targets)


async def test_a_csv_with_errors_in_several_rows_imports_nothing_and_reports_every_error(
    cw: CampaignsWorld,
) -> None:
    org = await cw.org("careful")
    rows = [
        decision_maker("Good Row", "local", "1000"),
        decision_maker("Bad Level", "municipal", "1000"),
        decision_maker("Bad Mail", "local", "1000", email="not-an-address"),
        decision_maker("Good Too", "national", "*"),
        decision_maker("No Country", "local", "1000", country=""),
        decision_maker("Bad Code", "local", "10!0"),
    ]

    response = await cw.campaigns.post(
        "/v1/target-imports", json={"organization_id": org.id, "csv": target_csv(rows)}, headers=org.headers
    )

    body = problem(response, 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (3, "level"),
        (4, "email"),
        (6, "country"),
        (7, "postal_codes"),
    ]
    assert all(e["reason"] for e in body["errors"])
    assert await listed(cw, org) == []


async def test_a_csv_without_the_required_columns_is_refused_with_the_header_named(
    cw: CampaignsWorld,
) -> None:
    org = await cw.org("headers")

    response = await cw.campaigns.post(
        "/v1/target-imports",
        json={"organization_id": org.id, "csv": "name,colour\r\nLea,blue\r\n"},
        headers=org.headers,
    )

    body = problem(response, 422)
    assert {(e["row"], e["field"]) for e in body["errors"]} == {
        (1, "colour"),
        (1, "level"),
        (1, "email"),
        (1, "country"),
    }


async def test_an_edit_saves_a_new_version_and_the_old_one_stays_readable(cw: CampaignsWorld) -> None:
    org = await cw.org("versions")
    (target,) = await imported(cw, org, BRUSSELS[:1])

    edited = await cw.campaigns.patch(
        f"/v1/targets/{target['id']}",
        json={"office": "Mayor's office", "postal_codes": ["1000"]},
        headers=org.headers,
    )
    versions = await cw.get(f"/v1/targets/{target['id']}/versions", org)

    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["office"]) == (2, "Mayor's office")
    assert versions.status_code == 200, versions.text
    assert [(v["version"], v["office"], v["postal_codes"]) for v in versions.json()] == [
        (1, target["office"], ["1000", "1020"]),
        (2, "Mayor's office", ["1000"]),
    ]


async def test_importing_rows_with_a_target_id_makes_their_next_version(cw: CampaignsWorld) -> None:
    org = await cw.org("reimport")
    (target,) = await imported(cw, org, BRUSSELS[:1])
    row = {**BRUSSELS[0], "target_id": target["id"], "email": "new.address@parliament.example"}

    response = await cw.campaigns.post(
        "/v1/target-imports",
        json={"organization_id": org.id, "csv": target_csv([row], (*row.keys(),))},
        headers=org.headers,
    )

    assert response.status_code == 201, response.text
    assert (response.json()["created"], response.json()["updated"]) == (0, 1)
    current = await cw.get(f"/v1/targets/{target['id']}", org)
    assert (current.json()["version"], current.json()["email"]) == (2, "new.address@parliament.example")


async def test_a_retired_target_is_listed_only_on_request_and_keeps_its_versions(cw: CampaignsWorld) -> None:
    org = await cw.org("retiring")
    (target,) = await imported(cw, org, BRUSSELS[:1])

    retired = await cw.campaigns.delete(f"/v1/targets/{target['id']}", headers=org.headers)

    assert retired.status_code == 204, retired.text
    assert await listed(cw, org) == []
    assert [t["retired"] for t in await listed(cw, org, include_retired="true")] == [True]
    versions = await cw.get(f"/v1/targets/{target['id']}/versions", org)
    assert [v["retired"] for v in versions.json()] == [False, True]


async def test_the_postal_code_selects_targets_across_levels(cw: CampaignsWorld) -> None:
    org = await cw.org("lookup")
    await imported(cw, org, BRUSSELS)
    campaign_id = await letter_campaign(cw, org, targeting="by_location")
    ref = await cw.link_of(campaign_id, org)

    here = await cw.campaigns.get(
        f"/v1/public/links/{ref}/targets", params={"country": "BE", "postal_code": "1000"}
    )
    regional_only = await cw.campaigns.get(
        f"/v1/public/links/{ref}/targets", params={"country": "BE", "postal_code": "1180"}
    )
    dutch = await cw.campaigns.get(
        f"/v1/public/links/{ref}/targets", params={"country": "NL", "postal_code": "1011 AB"}
    )

    assert here.status_code == 200, here.text
    assert [(t["name"], t["level"]) for t in here.json()["recipients"]] == [
        ("Lea Local", "local"),
        ("Rui Regional", "regional"),
        ("Nina National", "national"),
        ("Sam Supranational", "supranational"),
    ]
    assert "@" not in here.text  # no decision-maker's address on the public page
    assert [t["name"] for t in regional_only.json()["recipients"]] == [
        "Rui Regional",
        "Nina National",
        "Sam Supranational",
    ]
    assert [t["name"] for t in dutch.json()["recipients"]] == ["Dora Dutch"]


async def test_a_campaign_can_keep_to_some_levels(cw: CampaignsWorld) -> None:
    org = await cw.org("levels")
    await imported(cw, org, BRUSSELS)
    campaign_id = await letter_campaign(cw, org, targeting="by_location", target_levels=["national", "local"])
    ref = await cw.link_of(campaign_id, org)

    here = await cw.campaigns.get(
        f"/v1/public/links/{ref}/targets", params={"country": "BE", "postal_code": "1000"}
    )

    assert [t["name"] for t in here.json()["recipients"]] == ["Lea Local", "Nina National"]


async def test_by_location_needs_a_place_and_one_nobody_represents_is_a_422(cw: CampaignsWorld) -> None:
    org = await cw.org("noplace")
    await imported(cw, org, BRUSSELS[:1])
    campaign_id = await letter_campaign(cw, org, targeting="by_location")
    ref = await cw.link_of(campaign_id, org)

    without = await cw.campaigns.get(f"/v1/public/links/{ref}/targets")
    nobody = await cw.campaigns.get(
        f"/v1/public/links/{ref}/targets", params={"country": "FR", "postal_code": "75001"}
    )

    problem(without, 422)
    problem(nobody, 422)


async def test_a_coalition_directory_is_kept_by_its_leads_and_read_by_its_members(cw: CampaignsWorld) -> None:
    lead, member, outsider = await cw.org("dirlead"), await cw.org("dirmember"), await cw.org("diroutsider")
    coalition = await cw.shared_coalition(lead, member)

    targets = await imported(cw, lead, BRUSSELS[:2], coalition_id=coalition["id"])
    by_member = await cw.get("/v1/targets", member, coalition_id=coalition["id"])
    one = await cw.get(f"/v1/targets/{targets[0]['id']}", member)
    member_adds = await cw.campaigns.post(
        "/v1/targets", json={"coalition_id": coalition["id"], **as_json(BRUSSELS[2])}, headers=member.headers
    )
    member_edits = await cw.campaigns.patch(
        f"/v1/targets/{targets[0]['id']}", json={"name": "X"}, headers=member.headers
    )
    outsider_lists = await cw.get("/v1/targets", outsider, coalition_id=coalition["id"])
    outsider_reads = await cw.get(f"/v1/targets/{targets[0]['id']}", outsider)

    assert by_member.status_code == 200, by_member.text
    assert {t["coalition_id"] for t in by_member.json()["items"]} == {coalition["id"]}
    assert len(by_member.json()["items"]) == 2
    assert one.status_code == 200, one.text
    problem(member_adds, 403)
    problem(member_edits, 403)
    problem(outsider_lists, 403)
    problem(outsider_reads, 404)
    assert targets[0]["email"] not in outsider_reads.text


async def test_one_organization_neither_sees_nor_changes_anothers_targets(cw: CampaignsWorld) -> None:
    owner, other = await cw.org("dirowner"), await cw.org("dirother")
    (target,) = await imported(cw, owner, BRUSSELS[:1])
    path = f"/v1/targets/{target['id']}"

    responses = {
        "list": await cw.get("/v1/targets", other, organization_id=owner.id),
        "import": await cw.campaigns.post(
            "/v1/target-imports",
            json={"organization_id": owner.id, "csv": target_csv(BRUSSELS[1:2])},
            headers=other.headers,
        ),
        "create": await cw.campaigns.post(
            "/v1/targets", json={"organization_id": owner.id, **as_json(BRUSSELS[1])}, headers=other.headers
        ),
        "read": await cw.get(path, other),
        "versions": await cw.get(f"{path}/versions", other),
        "edit": await cw.campaigns.patch(path, json={"name": "Hijacked"}, headers=other.headers),
        "retire": await cw.campaigns.delete(path, headers=other.headers),
    }

    assert {k: r.status_code for k, r in responses.items()} == {
        "list": 403,
        "import": 403,
        "create": 403,
        "read": 404,
        "versions": 404,
        "edit": 404,
        "retire": 404,
    }
    unchanged = await cw.get(path, owner)
    assert (unchanged.json()["version"], unchanged.json()["name"], unchanged.json()["retired"]) == (
        1,
        "Lea Local",
        False,
    )
    assert [t["name"] for t in await listed(cw, owner)] == ["Lea Local"]
