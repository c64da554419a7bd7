"""The scope table: one row per scope, one scope per endpoint, and docs/scopes.md says the same."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from common.scopes import CLIENT_SCOPES, SCOPES, markdown, required_scope

DOC = Path(__file__).resolve().parents[4] / "docs" / "scopes.md"


def test_docs_show_the_table_the_services_enforce() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(), "regenerate docs/scopes.md from common.scopes"


def test_each_endpoint_needs_exactly_one_scope() -> None:
    endpoints = Counter(e for s in SCOPES for e in s.endpoints)

    assert [e for e, n in endpoints.items() if n > 1] == []
    assert all(required_scope(*e.split(" ", 1)) is not None for e in endpoints)


def test_scope_names_are_unique_and_granted_by_identity() -> None:
    assert len({s.name for s in SCOPES}) == len(SCOPES)
    assert set(CLIENT_SCOPES) == {s.name for s in SCOPES}
    assert {s.service for s in SCOPES} == {"identity", "coalition", "campaigns", "notifications"}


def test_contacts_and_erasure_have_their_own_scopes() -> None:
    assert required_scope("GET", "/v1/campaigns/{campaign_id}/supporters") == "supporters:read"
    assert required_scope("GET", "/v1/campaigns/{campaign_id}/supporters.csv") == "supporters:read"
    erase = "/v1/organizations/{organization_id}/supporters/{supporter_id}"
    assert required_scope("DELETE", erase) == "supporters:erase"
