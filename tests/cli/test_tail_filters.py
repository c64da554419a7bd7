"""coalitionctl tail's filters: by CloudEvents type (or a prefix), organization and campaign."""

from __future__ import annotations

import json
from typing import Any

from coalitionctl.kafka import Record, pretty
from coalitionctl.tail import Filters

ORG, OTHER_ORG, CAMPAIGN = "0f3c", "9a9a", "c0ffee"


def _record(event: dict[str, Any] | None, raw: bytes | None = None) -> Record:
    value = raw if raw is not None else json.dumps(event).encode()
    return Record("campaigns.actions.v1", 2, 41, 0, b"key", value, {})


def _event(**attributes: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "e1",
        "source": "urn:x:campaigns",
        "time": "2026-12-01T00:00:00Z",
        **attributes,
    }


def test_a_type_matches_exactly_or_by_a_prefix_ending_in_a_star() -> None:
    recorded = _record(_event(type="campaigns.action.recorded"))

    assert Filters(types=("campaigns.action.recorded",)).accept(recorded)
    assert Filters(types=("campaigns.*",)).accept(recorded)
    assert Filters(types=("identity.*", "campaigns.action.*")).accept(recorded)
    assert not Filters(types=("campaigns.action",)).accept(recorded)
    assert not Filters(types=("coalition.*",)).accept(recorded)


def test_an_organization_matches_the_orgid_extension_or_the_payloads_organization_fields() -> None:
    by_extension = _record(_event(type="t", orgid=ORG))
    by_payload = _record(_event(type="t", data={"organization_id": ORG}))
    by_owner = _record(_event(type="t", data={"owner_org_id": ORG}))

    for record in (by_extension, by_payload, by_owner):
        assert Filters(organization=ORG).accept(record)
        assert not Filters(organization=OTHER_ORG).accept(record)


def test_a_campaign_matches_the_payloads_campaign_id_or_the_subject() -> None:
    by_payload = _record(_event(type="t", data={"campaign_id": CAMPAIGN}))
    by_subject = _record(_event(type="t", subject=f"campaigns/{CAMPAIGN}/actions/1"))
    elsewhere = _record(_event(type="t", data={"campaign_id": "other"}, subject="campaigns/other"))

    assert Filters(campaign=CAMPAIGN).accept(by_payload)
    assert Filters(campaign=CAMPAIGN).accept(by_subject)
    assert not Filters(campaign=CAMPAIGN).accept(elsewhere)


def test_a_value_that_is_not_an_event_shows_only_without_filters_and_is_printed_as_such() -> None:
    garbage = _record(None, raw=b"\x00not json")

    assert Filters().accept(garbage)
    assert not Filters(types=("campaigns.*",)).accept(garbage)
    assert "campaigns.actions.v1[2]@41  (not a JSON object" in pretty(garbage)


def test_an_event_is_printed_with_its_attributes_and_indented_data() -> None:
    text = pretty(_record(_event(type="campaigns.action.recorded", orgid=ORG, data={"kind": "signature"})))

    assert text.splitlines()[0].endswith("2026-12-01T00:00:00Z  campaigns.action.recorded")
    assert f"   orgid        {ORG}" in text
    assert '     "kind": "signature"' in text
