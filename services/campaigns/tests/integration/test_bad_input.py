"""Bad input on every campaigns endpoint, management and public, gets an application/problem+json 4xx,
never a 500.

The endpoints come from the running app (its OpenAPI document and its routes), so a new endpoint is
covered by every check that applies to it. Requests go through a client that does not re-raise
application errors, so an unhandled error shows up as the 500 response a caller would get.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from advocacy_world import NIL, meeting_body, outcome_goal_body
from campaigns_world import DETAILS, FUTURE, CampaignsWorld, goal, supporter
from coalition_world import Org
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from identity_api import IdentityApi

from openapi_operations import Junk, Operation, any_text, methods_by_path, routes, token_required
from openapi_operations import operations as operations_of
from problem_probe import (
    INVALID_UUIDS,
    JUNK_SETTINGS,
    NOT_AN_OBJECT,
    WRONG_TYPES,
    Probe,
    problem_failure,
)

BASE_URL = "http://campaigns.test"
LATER = (FUTURE + timedelta(days=30)).isoformat()
PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()
TOO_LONG = "x" * 30_000  # longer than any text field, shorter than the 64 KiB body limit
ABSENT = "00000000-0000-4000-8000-0000000000ab"  # a target or a petition delivery that does not exist

MEASUREMENT = {
    "measured_on": "2026-01-01",
    "value": 12.5,
    "source": "Clinic register",
    "evidence_url": "https://example.org/register",
    "note": "Two clinics reported late.",
}
VERDICT = {"verdict": "achieved", "statement": "Every clinic opens one evening a week."}

# A valid body for every JSON-body endpoint; `{lead}`, `{member}`, `{token}` name what is arranged.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/campaigns"): {
        "organization_id": "{lead}",
        "kind": "petition",
        "title": "A valid petition",
        "summary": "Why it matters",
        "details": DETAILS["petition"],
        "goal": goal("petition"),
        "launch_at": None,
        "close_at": LATER,
        "consent_texts": {"contact_by_organization": "You may write to me about this campaign."},
    },
    ("PATCH", "/v1/campaigns/{campaign_id}"): {
        "title": "A renamed story collection",
        "summary": "Still about diagnosis",
        "details": DETAILS["story_collection"],
        "goal": goal("story_collection"),
        "close_at": LATER,
    },
    ("POST", "/v1/campaigns/{campaign_id}/adoptions"): {"organization_id": "{member}"},
    ("POST", "/v1/campaigns/{campaign_id}/stories/{story_id}/approve"): {"reason": "Fine"},
    ("POST", "/v1/campaigns/{campaign_id}/stories/{story_id}/reject"): {"reason": "Off topic"},
    ("POST", "/v1/campaigns/{campaign_id}/stories/{story_id}/publish"): {"reason": "Moving"},
    ("POST", "/v1/campaigns/{campaign_id}/stories/{story_id}/unpublish"): {"reason": "Asked to"},
    ("POST", "/v1/public/links/{ref}/signatures"): {"supporter": "{supporter}", "consents": {}},
    ("POST", "/v1/public/links/{ref}/letters"): {
        "supporter": "{supporter}",
        "consents": {},
        "subject": "My subject",
        "body": "My letter",
    },
    ("POST", "/v1/public/links/{ref}/rsvps"): {"supporter": "{supporter}", "consents": {}},
    ("POST", "/v1/public/links/{ref}/checkins"): {"supporter": "{supporter}", "consents": {}},
    ("POST", "/v1/public/links/{ref}/stories"): {
        "supporter": "{supporter}",
        "consents": {},
        "title": "My story",
        "body": "It took five years.",
        "name_form": "first_name",
    },
    ("POST", "/v1/public/links/{ref}/shares"): {
        "supporter": "{supporter}",
        "consents": {},
        "platform": "bluesky",
    },
    ("POST", "/v1/public/supporter"): {"token": "{token}"},
    ("POST", "/v1/public/supporter/consent-withdrawals"): {
        "token": "{token}",
        "purposes": ["share_with_coalition"],
    },
    ("POST", "/v1/public/supporter/erasure"): {"token": "{token}"},
    ("POST", "/v1/public/confirmations"): {"token": "ac_" + "A" * 43},  # well-formed, never issued: 404
    # Decision-makers: the target and the delivery named in paths are absent (404).
    ("POST", "/v1/targets"): {
        "organization_id": "{lead}",
        "name": "Lea Local",
        "title": "Councillor",
        "office": "City council",
        "level": "local",
        "jurisdiction": "Brussels",
        "district": "Centre",
        "email": "lea.local@parliament.example",
        "country": "BE",
        "postal_codes": ["1000", "10*"],
    },
    ("POST", "/v1/target-imports"): {
        "organization_id": "{lead}",
        "csv": "name,level,email,country,postal_codes\r\nNina,national,nina@parliament.example,BE,*\r\n",
    },
    ("PATCH", "/v1/targets/{target_id}"): {"office": "Town hall", "postal_codes": ["1000"]},
    ("POST", "/v1/campaigns/{campaign_id}/petition-deliveries"): {
        "method": "download",
        "message": "For you.",
    },
    # Advocacy: the meeting and goals named are absent (404), the story collection has no meetings (409).
    ("POST", "/v1/campaigns/{campaign_id}/meetings"): meeting_body([NIL]),
    ("POST", "/v1/campaigns/{campaign_id}/meetings/{meeting_id}/report"): {
        "outcome": "follow_up_needed",
        "commitments": "Will table the amendment.",
        "follow_up": "Send the data by Friday.",
        "notes": "Friendly.",
    },
    ("POST", "/v1/campaigns/{campaign_id}/outcome-goals"): outcome_goal_body(),
    ("POST", "/v1/campaigns/{campaign_id}/outcome-goals/{goal_id}/measurements"): MEASUREMENT,
    ("POST", "/v1/campaigns/{campaign_id}/outcome-goals/{goal_id}/verdict"): VERDICT,
    ("PUT", "/v1/campaigns/{campaign_id}/conflicts-of-interest"): {
        "organization_id": "{lead}",
        "statement": "Our board chair advises a manufacturer of screening tests.",
    },
    ("PUT", "/v1/campaigns/{campaign_id}/impact-report/publication"): {"published": False},
    ("POST", "/v1/coalitions/{coalition_id}/outcome-goals"): outcome_goal_body(),
    ("POST", "/v1/coalitions/{coalition_id}/outcome-goals/{goal_id}/measurements"): MEASUREMENT,
    ("POST", "/v1/coalitions/{coalition_id}/outcome-goals/{goal_id}/verdict"): VERDICT,
    ("POST", "/v1/public/meeting-reports"): {"report_token": "mr_" + "A" * 43, "outcome": "undecided"},
}

BAD_LIMITS = ["0", "-1", "1001", "ten", "1.5", "1e3", ""]
BAD_CURSORS = [
    "garbage",
    "!!!",
    "x" * 2000,
    "\u00e9t\u00e9",
    "\x00",
    base64.urlsafe_b64encode(b"nope").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
]
# Every query parameter of the app, each with values it must refuse.
BAD_QUERIES: dict[tuple[str, str], list[str]] = {
    ("/v1/campaigns", "organization_id"): INVALID_UUIDS,
    ("/v1/campaigns", "cursor"): BAD_CURSORS,
    ("/v1/campaigns", "limit"): [*BAD_LIMITS, "101"],
    ("/v1/campaigns/{campaign_id}/supporters", "organization_id"): INVALID_UUIDS,
    ("/v1/campaigns/{campaign_id}/supporters", "cursor"): BAD_CURSORS,
    ("/v1/campaigns/{campaign_id}/supporters", "limit"): [*BAD_LIMITS, "501"],
    ("/v1/campaigns/{campaign_id}/supporters.csv", "organization_id"): INVALID_UUIDS,
    ("/v1/campaigns/{campaign_id}/stories", "status"): ["", "unknown", "SUBMITTED", "x" * 1000, "\x00"],
    ("/v1/campaigns/{campaign_id}/stories", "cursor"): BAD_CURSORS,
    ("/v1/campaigns/{campaign_id}/stories", "limit"): [*BAD_LIMITS, "101"],
    ("/v1/public/campaigns/{campaign_id}/stories", "cursor"): BAD_CURSORS,
    ("/v1/public/campaigns/{campaign_id}/stories", "limit"): [*BAD_LIMITS, "101"],
    ("/v1/public/links/{ref}", "lang"): ["x", "<script>", "e" * 40, "\x00", "en us", "fr;q=1", ""],
    ("/v1/targets", "organization_id"): INVALID_UUIDS,
    ("/v1/targets", "coalition_id"): INVALID_UUIDS,
    ("/v1/targets", "level"): ["", "municipal", "LOCAL", "\x00"],
    ("/v1/targets", "include_retired"): ["maybe", "2", "\x00"],
    ("/v1/targets", "cursor"): BAD_CURSORS,
    ("/v1/targets", "limit"): [*BAD_LIMITS, "501"],
    ("/v1/campaigns/{campaign_id}/letters/deliveries", "state"): ["", "lost", "SENT", "\x00"],
    ("/v1/campaigns/{campaign_id}/letters/deliveries", "cursor"): BAD_CURSORS,
    ("/v1/campaigns/{campaign_id}/letters/deliveries", "limit"): [*BAD_LIMITS, "501"],
    ("/v1/campaigns/{campaign_id}/petition-deliveries", "cursor"): BAD_CURSORS,
    ("/v1/campaigns/{campaign_id}/petition-deliveries", "limit"): [*BAD_LIMITS, "101"],
    ("/v1/public/links/{ref}/targets", "country"): ["", "be", "BEL", "\x00"],
    ("/v1/public/links/{ref}/targets", "postal_code"): ["", "x", "1000!", "x" * 20, "\x00"],
    ("/v1/public/meeting-reports", "report_token"): ["", "x", "mr_short", "ev_" + "A" * 43, "mr_" + "A" * 44],
}
# Query parameters without a default.
REQUIRED_QUERIES = {
    ("/v1/campaigns", "organization_id"),
    ("/v1/campaigns/{campaign_id}/supporters", "organization_id"),
    ("/v1/campaigns/{campaign_id}/supporters.csv", "organization_id"),
    ("/v1/public/meeting-reports", "report_token"),
}
BAD_REFS = ["short", "x" * 33, "has space!", "caf\u00e9-caf\u00e9", "a.b.c.d.e", "\x00" * 8, "' OR '1'='1"]
BAD_TOKENS = [
    "",
    "x",
    "0" * 32,
    "0" * 32 + ".",
    "0" * 32 + "." + "A" * 42,
    "0" * 32 + "." + "A" * 44,
    "G" * 32 + "." + "A" * 43,
    "ABCDEF" + "0" * 26 + "." + "A" * 43,
    "0" * 32 + "." + "A" * 42 + "\x00",
    "0" * 32 + "." + "A" * 42 + "=",
    "x" * 10_000,
]
BAD_IDEMPOTENCY_KEYS = ["", "has space", "x" * 256, "caf\u00e9", "tab\there"]
MALFORMED_JSON = [b'{"title": ', b"not json", b"{'single': 'quotes'}", b'{"a": 1,}', b"\xff\xfe{}"]


# ---- the endpoints, as the running app describes them ------------------------------------------------


def _operations(app: FastAPI) -> list[Operation]:
    return operations_of(app, "/v1/")


_routes = routes
_token_required = token_required
_methods_by_path = methods_by_path


# ---- fixtures -------------------------------------------------------------------------------------


@dataclass
class World:
    """A launched story collection of a coalition led by `lead`, adopted by `member`, with one story;
    a draft event and a draft petition of `lead` alone."""

    lead: Org
    member: Org
    campaign: dict[str, Any]
    ref: str
    story_id: str
    supporter_id: str
    token: str
    event: dict[str, Any]
    draft: dict[str, Any]

    @property
    def ids(self) -> dict[str, str]:
        return {
            "campaign_id": self.campaign["id"],
            "story_id": self.story_id,
            "organization_id": self.member.id,
            "supporter_id": self.supporter_id,
            "ref": self.ref,
            "target_id": ABSENT,
            "delivery_id": ABSENT,
            "meeting_id": NIL,
            "goal_id": NIL,
            "coalition_id": NIL,
        }

    @property
    def headers(self) -> dict[str, str]:
        return self.lead.headers

    def url(self, op: Operation, **overrides: str) -> str:
        path = op.path.format(**{**self.ids, **overrides})
        if op.required_query_params:
            path += "?" + "&".join(f"{name}={self.lead.id}" for name in op.required_query_params)
        return path

    def body(self, op: Operation) -> dict[str, Any] | None:
        """A fresh valid body for the operation (a new supporter each time), or None when it takes none."""
        if op.key not in VALID_BODIES:
            return None
        values: dict[str, Any] = {
            "{lead}": self.lead.id,
            "{member}": self.member.id,
            "{token}": self.token,
            "{supporter}": supporter("valid"),
        }
        return {k: values.get(v, v) if isinstance(v, str) else v for k, v in VALID_BODIES[op.key].items()}


@pytest.fixture(scope="module")
async def raw_http(campaigns_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=campaigns_app, raise_app_exceptions=False, client=("203.0.113.20", 1))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture(scope="module")
async def world(
    identity_http: httpx.AsyncClient,
    coalition_http: httpx.AsyncClient,
    coalition_app: FastAPI,
    raw_http: httpx.AsyncClient,
    campaigns_app: FastAPI,
) -> World:
    arrange = CampaignsWorld(
        IdentityApi(identity_http), coalition_http, coalition_app, raw_http, campaigns_app
    )
    lead, member = await arrange.org("lead"), await arrange.org("member")
    coalition = await arrange.shared_coalition(lead, member)
    campaign = await arrange.launched(lead, "story_collection", coalition["id"])
    await arrange.adopt(campaign["id"], member)
    ref = await arrange.link_of(campaign["id"], lead)
    told = await arrange.act(
        ref,
        "stories",
        consents=await arrange.versions(ref),
        title="Five years",
        body="It took five years.",
        name_form="full",
    )
    assert told.status_code == 201, told.text
    token = told.json()["supporter_token"]
    me = await raw_http.post("/v1/public/supporter", json={"token": token})
    stories = await raw_http.get(f"/v1/campaigns/{campaign['id']}/stories", headers=lead.headers)
    assert me.status_code == stories.status_code == 200, (me.text, stories.text)
    return World(
        lead,
        member,
        campaign,
        ref,
        stories.json()["items"][0]["id"],
        me.json()["id"],
        token,
        await arrange.campaign(lead, "event"),
        await arrange.campaign(lead, "petition"),
    )


@pytest.fixture
def probe(raw_http: httpx.AsyncClient) -> Probe:
    return Probe(raw_http)


@pytest.fixture(scope="module")
def operations(campaigns_app: FastAPI) -> list[Operation]:
    return _operations(campaigns_app)


def json_ops(operations: list[Operation]) -> list[Operation]:
    return [op for op in operations if op.json_body]


def op_of(operations: list[Operation], method: str, path: str) -> Operation:
    return next(op for op in operations if op.key == (method, path))


# ---- coverage guards ------------------------------------------------------------------------------


def test_every_json_body_endpoint_has_a_valid_example(operations: list[Operation]) -> None:
    assert {op.key for op in json_ops(operations)} == set(VALID_BODIES)


def test_every_query_parameter_has_bad_values(operations: list[Operation]) -> None:
    assert {(op.path, name) for op in operations for name in op.query_params} == set(BAD_QUERIES)
    assert {(op.path, name) for op in operations for name in op.required_query_params} == REQUIRED_QUERIES


async def test_the_valid_examples_pass_validation(
    raw_http: httpx.AsyncClient, operations: list[Operation], world: World
) -> None:
    """Otherwise the checks below, which each break a valid body in one way, would prove nothing."""
    refused = {}
    for op in json_ops(operations):
        if op.path.endswith("/erasure"):
            continue  # it would erase the supporter whose token the other examples use
        response = await raw_http.request(
            op.method, world.url(op), json=world.body(op), headers=world.headers
        )
        if response.status_code in (400, 422) or response.status_code >= 500:
            refused[op.key] = response.text

    assert refused == {}


# ---- JSON bodies ----------------------------------------------------------------------------------


async def test_malformed_json_is_400(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in json_ops(operations):
        for content in MALFORMED_JSON:
            await probe.expect(
                400,
                op.method,
                world.url(op),
                describe=f"body {content[:40]!r}",
                content=content,
                headers={"content-type": "application/json", **world.headers},
            )

    probe.assert_clean(at_least=80)


async def test_body_that_is_not_an_object_is_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in json_ops(operations):
        for body in NOT_AN_OBJECT:
            await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=80)


async def test_missing_required_body_is_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in json_ops(operations) if op.body_required):
        await probe.expect(422, op.method, world.url(op), describe="without a body", headers=world.headers)

    probe.assert_clean(at_least=12)


async def test_json_body_with_another_content_type_is_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in (op for op in json_ops(operations) if op.body_required):
        body = json.dumps(world.body(op)).encode()
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            await probe.expect(
                422,
                op.method,
                world.url(op),
                describe=content_type,
                content=body,
                headers={"content-type": content_type, **world.headers},
            )

    probe.assert_clean(at_least=36)


def _of_a_kind(value: Any, kinds: set[str]) -> bool:
    """Whether the field takes values of this JSON type (a number is not a wrong type for a number)."""
    if isinstance(value, bool):
        return "boolean" in kinds
    return isinstance(value, int) and bool({"integer", "number"} & kinds)


async def test_wrong_types_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in json_ops(operations):
        for name, kinds in op.field_kinds().items():
            for value in (v for v in WRONG_TYPES if not _of_a_kind(v, kinds)):
                body = {**(world.body(op) or {}), name: value}
                await probe.expect_json(
                    422, op.method, world.url(op), body, describe=f"{name}={value!r}", headers=world.headers
                )

    probe.assert_clean(at_least=150)


async def test_unknown_fields_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    extras = (
        {"status": "active"},
        {"owner_organization_id": str(uuid.uuid4())},
        {"org_id": str(uuid.uuid4())},
        {"already_recorded": True},
        {"_id": "x"},
        {"$set": {"status": "active"}},
        {"": None},
    )
    for op in json_ops(operations):
        for extra in extras:
            body = {**(world.body(op) or {}), **extra}
            await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=110)


async def test_unknown_fields_inside_nested_objects_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    create = op_of(operations, "POST", "/v1/campaigns")
    update = op_of(operations, "PATCH", "/v1/campaigns/{campaign_id}")
    sign = op_of(operations, "POST", "/v1/public/links/{ref}/signatures")
    cases: list[tuple[Operation, dict[str, Any]]] = [
        (create, {"details": {**DETAILS["petition"], "status": "active"}}),
        (create, {"details": {**DETAILS["petition"], "target": {"name": "X", "email": "x@example.org"}}}),
        (create, {"goal": {**goal("petition"), "value": 99}}),
        (update, {"details": {**DETAILS["story_collection"], "owner": "me"}}),
        (update, {"goal": {**goal("story_collection"), "reached": True}}),
        (sign, {"supporter": {**supporter(), "org_id": str(uuid.uuid4())}}),
        (sign, {"consents": {"contact_everyone": "0123456789abcdef"}}),
    ]
    for op, change in cases:
        body = {**(world.body(op) or {}), **change}
        await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=7)


async def test_oversized_values_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in json_ops(operations):
        for name, kinds in op.field_kinds().items():
            oversized: list[Any] = []
            if kinds & {"string", "enum"}:
                oversized.append(TOO_LONG)
            if "array" in kinds:
                oversized += [[TOO_LONG], ["share_with_coalition"] * 1000]
            if "object" in kinds:
                oversized.append({f"k{i}": "v" for i in range(2000)})
            for value in oversized:
                body = {**(world.body(op) or {}), name: value}
                await probe.expect_json(
                    422, op.method, world.url(op), body, describe=f"oversized {name}", headers=world.headers
                )

    probe.assert_clean(at_least=40)


async def test_body_over_64_kib_is_413(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in json_ops(operations):
        await probe.expect(
            413,
            op.method,
            world.url(op),
            describe="80 KiB body",
            content=json.dumps({"title": "x" * 80_000}).encode(),
            headers={"content-type": "application/json", **world.headers},
        )

    probe.assert_clean(at_least=16)


async def test_nul_bytes_and_control_characters_in_strings_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in json_ops(operations):
        for name, kinds in op.field_kinds().items():
            if "string" in kinds:
                for value in ("nul \x00 inside", "\x00", "bell \x07 and escape \x1b[31m"):
                    body = {**(world.body(op) or {}), name: value}
                    await probe.expect_json(
                        422,
                        op.method,
                        world.url(op),
                        body,
                        describe=f"{name}={value!r}",
                        headers=world.headers,
                    )
    supporter_fields = ("email", "first_name", "last_name", "postal_code", "country")
    sign = op_of(operations, "POST", "/v1/public/links/{ref}/signatures")
    for name in supporter_fields:
        body = {**(world.body(sign) or {}), "supporter": {**supporter(), name: "A\x00B"}}
        await probe.expect_json(422, sign.method, world.url(sign), body, headers=world.headers)

    probe.assert_clean(at_least=40)


async def test_lone_surrogates_in_strings_are_a_4xx(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in json_ops(operations):
        for name, kinds in op.field_kinds().items():
            if "string" in kinds:
                body = {**(world.body(op) or {}), name: "text \ud800 with a lone surrogate"}
                await probe.expect_json(None, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=15)


# ---- what a campaign must make sense of -----------------------------------------------------------


def _event(**changes: Any) -> dict[str, Any]:
    return {**DETAILS["event"], **changes}


BAD_TIME_ZONES = [
    "Mars/Olympus_Mons",
    "",
    "utc+1",
    "Europe/Brussels\x00",
    "../../etc/passwd",
    "x" * 300,
    "+01:00",
]
STARTS = DETAILS["event"]["starts_at"]


def _bad_campaigns() -> list[tuple[str, dict[str, Any]]]:
    """(why, changes to the valid petition) for campaigns that must be refused at creation."""
    event = {"kind": "event", "goal": goal("event")}
    cases: list[tuple[str, dict[str, Any]]] = [
        (f"time zone {tz!r}", {**event, "details": _event(time_zone=tz)}) for tz in BAD_TIME_ZONES
    ]
    cases += [
        ("ends before it starts", {**event, "details": _event(ends_at=PAST)}),
        ("ends when it starts", {**event, "details": _event(ends_at=STARTS)}),
        ("naive start", {**event, "details": _event(starts_at="2031-01-01T10:00:00")}),
        ("no place and no link", {**event, "details": _event(place=None)}),
        ("online link not http", {**event, "details": _event(online_url="javascript:alert(1)")}),
        ("capacity 0", {**event, "details": _event(capacity=0)}),
        ("unknown event type", {**event, "details": _event(event_type="rave")}),
        ("goal of rsvps on a petition", {"goal": goal("event")}),
        ("goal of letters on a petition", {"goal": {**goal("petition"), "action_kind": "letter"}}),
        (
            "attendance goal on a petition",
            {"goal": {**goal("petition"), "metric": "attendance", "action_kind": None}},
        ),
        ("actions goal without a kind", {"goal": {**goal("petition"), "action_kind": None}}),
        ("supporters goal with a kind", {"goal": {**goal("petition"), "metric": "unique_supporters"}}),
        ("deadline in the past", {"goal": {**goal("petition"), "deadline": PAST}}),
        ("naive deadline", {"goal": {**goal("petition"), "deadline": "2031-01-01T00:00:00"}}),
        ("target 0", {"goal": {**goal("petition"), "target": 0}}),
        ("target too big", {"goal": {**goal("petition"), "target": 10**12}}),
        ("target fractional", {"goal": {**goal("petition"), "target": 1.5}}),
        ("close before launch", {"launch_at": LATER, "close_at": FUTURE.isoformat()}),
        ("close at launch", {"launch_at": LATER, "close_at": LATER}),
        ("naive launch", {"launch_at": "2031-01-01T00:00:00"}),
        ("unknown kind", {"kind": "rally"}),
        ("letter details on a petition", {"details": DETAILS["letter"]}),
        ("no details", {"details": {}}),
        ("unknown consent purpose", {"consent_texts": {"sell_my_data": "You may sell my data to anyone."}}),
        ("consent text too short", {"consent_texts": {"contact_by_organization": "ok"}}),
        ("blank title", {"title": "   "}),
        ("unknown coalition", {"coalition_id": str(uuid.uuid4())}),
        (
            "share link not http",
            {"kind": "share", "goal": goal("share"), "details": {**DETAILS["share"], "link": "ftp://x"}},
        ),
        (
            "letter without targets",
            {"kind": "letter", "goal": goal("letter"), "details": {**DETAILS["letter"], "targets": []}},
        ),
    ]
    return cases


async def test_campaigns_that_make_no_sense_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    create = op_of(operations, "POST", "/v1/campaigns")
    for why, changes in _bad_campaigns():
        body = {**(world.body(create) or {}), **changes}
        await probe.expect_json(422, "POST", "/v1/campaigns", body, describe=why, headers=world.headers)

    probe.assert_clean(at_least=35)


async def test_edits_that_make_no_sense_are_422(probe: Probe, world: World) -> None:
    collection, event, draft = (
        f"/v1/campaigns/{c['id']}" for c in (world.campaign, world.event, world.draft)
    )
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (collection, "petition details on a story collection", {"details": DETAILS["petition"]}),
        (collection, "event details on a story collection", {"details": DETAILS["event"]}),
        (collection, "empty details", {"details": {}}),
        (collection, "details with an extra field", {"details": {**DETAILS["story_collection"], "x": 1}}),
        (collection, "details with a NUL key", {"details": {**DETAILS["story_collection"], "\x00": 1}}),
        (collection, "details with an operator key", {"details": {"$where": "1", "prompt.x": "y"}}),
        (
            collection,
            "goal of signatures",
            {"goal": {**goal("story_collection"), "action_kind": "signature"}},
        ),
        (
            collection,
            "attendance goal",
            {"goal": {**goal("story_collection"), "metric": "attendance", "action_kind": None}},
        ),
        (collection, "deadline in the past", {"goal": {**goal("story_collection"), "deadline": PAST}}),
        (
            collection,
            "unknown consent purpose",
            {"consent_texts": {"sell": "You may sell my data to anyone."}},
        ),
        (collection, "blank title", {"title": " "}),
        (draft, "close before launch", {"launch_at": LATER, "close_at": FUTURE.isoformat()}),
        (draft, "close at launch", {"launch_at": LATER, "close_at": LATER}),
        (draft, "naive close", {"close_at": "2031-01-01T00:00:00"}),
        (draft, "goal of rsvps on a petition", {"goal": goal("event")}),
        (draft, "story collection details on a petition", {"details": DETAILS["story_collection"]}),
        (event, "ends before it starts", {"details": _event(ends_at=PAST)}),
        (event, "ends when it starts", {"details": _event(ends_at=STARTS)}),
        (event, "no place and no link", {"details": _event(place=None)}),
        (event, "goal of signatures on an event", {"goal": goal("petition")}),
    ]
    cases += [(event, f"time zone {tz!r}", {"details": _event(time_zone=tz)}) for tz in BAD_TIME_ZONES]
    for url, why, body in cases:
        await probe.expect_json(422, "PATCH", url, body, describe=why, headers=world.headers)

    probe.assert_clean(at_least=27)


async def test_supporters_that_make_no_sense_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    sign = op_of(operations, "POST", "/v1/public/links/{ref}/signatures")
    people = [
        {**supporter(), "email": "not-an-email"},
        {**supporter(), "email": "a@b"},
        {**supporter(), "email": "x" * 250 + "@example.org"},
        {**supporter(), "first_name": ""},
        {**supporter(), "first_name": "<script>"},
        {**supporter(), "first_name": "x" * 101},
        {**supporter(), "postal_code": "1"},
        {**supporter(), "postal_code": "12345;DROP"},
        {**supporter(), "country": "be"},
        {**supporter(), "country": "BEL"},
    ]
    for person in people:
        body = {**(world.body(sign) or {}), "supporter": person}
        await probe.expect_json(422, "POST", world.url(sign), body, headers=world.headers)
    for consents in (
        {"contact_by_organization": "nothex"},
        {"contact_by_organization": "0" * 17},
        {"x": "0" * 16},
    ):
        body = {**(world.body(sign) or {}), "consents": consents}
        await probe.expect_json(422, "POST", world.url(sign), body, headers=world.headers)
    story = op_of(operations, "POST", "/v1/public/links/{ref}/stories")
    for change in ({"name_form": "nickname"}, {"body": " "}, {"title": ""}):
        await probe.expect_json(422, "POST", world.url(story), {**(world.body(story) or {}), **change})

    probe.assert_clean(at_least=16)


# ---- paths, query strings, headers and methods ----------------------------------------------------


async def test_invalid_uuids_in_the_path_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in operations:
        for name, schema in op.path_params.items():
            if name == "ref":
                continue
            assert schema.get("format") == "uuid", f"{op.path}: {name} is not a UUID"
            for bad in INVALID_UUIDS:
                url = world.url(op, **{name: quote(bad, safe="")})
                await probe.expect(
                    422,
                    op.method,
                    url,
                    describe=f"{name}={bad[:40]!r}",
                    json=world.body(op),
                    headers=world.headers,
                )

    probe.assert_clean(at_least=130)


async def test_malformed_link_codes_are_422_and_unknown_ones_404(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in (op for op in operations if "ref" in op.path_params):
        for bad in BAD_REFS:
            url = world.url(op, ref=quote(bad, safe=""))
            await probe.expect(422, op.method, url, describe=f"ref={bad!r}", json=world.body(op))
        await probe.expect(404, op.method, world.url(op, ref="Unknown_Ref_0"), json=world.body(op))

    probe.assert_clean(at_least=50)


async def test_an_unknown_campaign_is_404(probe: Probe, operations: list[Operation], world: World) -> None:
    unknown = str(uuid.uuid4())
    for op in (op for op in operations if "campaign_id" in op.path_params):
        body = world.body(op)
        if body and "organization_id" in body:
            body["organization_id"] = world.lead.id
        await probe.expect(
            404,
            op.method,
            world.url(op, campaign_id=unknown, organization_id=world.lead.id),
            describe="unknown campaign",
            json=body,
            headers=world.headers,
        )

    probe.assert_clean(at_least=19)


async def test_an_unknown_story_or_supporter_is_404(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    unknown = str(uuid.uuid4())
    for op in operations:
        if "story_id" in op.path_params:
            await probe.expect(
                404, op.method, world.url(op, story_id=unknown), json=world.body(op), headers=world.headers
            )
    await probe.expect(
        404, "DELETE", f"/v1/organizations/{world.lead.id}/supporters/{unknown}", headers=world.headers
    )

    probe.assert_clean(at_least=5)


async def test_bad_query_parameters_are_422(probe: Probe, world: World) -> None:
    for (path, name), values in BAD_QUERIES.items():
        url = path.format(**world.ids)
        required = {n: world.lead.id for p, n in REQUIRED_QUERIES if p == path and n != name}
        for value in values:
            await probe.expect(
                422,
                "GET",
                url,
                describe=f"{name}={value[:40]!r}",
                params={**required, name: value},
                headers=world.headers,
            )

    probe.assert_clean(at_least=80)


async def test_missing_required_query_parameters_are_422(probe: Probe, world: World) -> None:
    for path, _ in REQUIRED_QUERIES:
        await probe.expect(422, "GET", path.format(**world.ids), headers=world.headers)

    probe.assert_clean(at_least=3)


async def test_bad_idempotency_keys_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in operations if op.takes_idempotency_key):
        for key in BAD_IDEMPOTENCY_KEYS:
            await probe.expect_json(
                422,
                op.method,
                world.url(op),
                world.body(op),
                describe=f"Idempotency-Key {key[:20]!r}",
                headers={"Idempotency-Key": key.encode("utf-8")},  # type: ignore[dict-item]
            )

    probe.assert_clean(at_least=30)


async def test_an_idempotency_key_reused_with_another_request_is_422(
    raw_http: httpx.AsyncClient, world: World
) -> None:
    key = f"key-{uuid.uuid4().hex}"
    url = f"/v1/public/links/{world.ref}/stories"
    body = VALID_BODIES[("POST", "/v1/public/links/{ref}/stories")]
    first = await raw_http.post(
        url, json={**body, "supporter": supporter()}, headers={"Idempotency-Key": key}
    )
    second = await raw_http.post(
        url, json={**body, "supporter": supporter()}, headers={"Idempotency-Key": key}
    )

    assert first.status_code == 201, first.text
    assert problem_failure("reuse", second, 422) is None, second.text


async def test_malformed_supporter_tokens_are_422_and_forged_ones_401(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    forged = f"{uuid.UUID(world.supporter_id).hex}.{'A' * 43}"
    for op in (op for op in json_ops(operations) if "token" in op.field_kinds()):
        for token in BAD_TOKENS:
            body = {**(world.body(op) or {}), "token": token}
            await probe.expect_json(422, op.method, world.url(op), body, describe=f"token {token[:50]!r}")
        if op.path == "/v1/public/confirmations":
            # A confirmation token is a link's (ac_...): a supporter token is malformed there, and a
            # well-formed one never issued names nothing (404, test_double_opt_in).
            await probe.expect_json(422, op.method, world.url(op), {"token": forged})
            continue
        await probe.expect_json(401, op.method, world.url(op), {**(world.body(op) or {}), "token": forged})
    withdraw = op_of(operations, "POST", "/v1/public/supporter/consent-withdrawals")
    for purposes in ([], ["sell_my_data"], ["share_with_coalition"] * 4, "share_with_coalition"):
        body = {**(world.body(withdraw) or {}), "purposes": purposes}
        await probe.expect_json(422, "POST", world.url(withdraw), body)

    probe.assert_clean(at_least=40)


async def test_methods_a_route_does_not_have_are_405(
    probe: Probe, campaigns_app: FastAPI, world: World
) -> None:
    for path, methods in _methods_by_path(campaigns_app).items():
        if not path.startswith("/v1/"):
            continue
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
            await probe.expect(405, method, path.format(**world.ids), headers=world.headers)

    probe.assert_clean(at_least=60)


async def test_unknown_paths_are_404(probe: Probe, world: World) -> None:
    for path in (
        "/v2/campaigns",
        "/v1/campaigns/{campaign_id}/secrets",
        "/v1/campaigns/{campaign_id}/reopen",
        "/v1/campaigns/{campaign_id}/stories/{story_id}/delete",
        "/v1/public/links",
        "/v1/public/supporter/export",
        "/.env",
    ):
        await probe.expect(404, "GET", path.format(**world.ids), headers=world.headers)

    probe.assert_clean(at_least=7)


async def test_no_token_is_401_where_one_is_required(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    no_token: dict[str, dict[str, str]] = {
        "no Authorization header": {},
        "Bearer without a token": {"Authorization": "Bearer"},
        "Basic credentials": {"Authorization": "Basic " + base64.b64encode(b"user:pass").decode()},
        "junk bearer": {"Authorization": "Bearer a.b.c"},
    }
    management = [op for op in operations if not op.public]
    assert all(op.requires_token for op in management), [op.key for op in management if not op.requires_token]
    for op in management:
        for name, headers in no_token.items():
            await probe.expect(
                401, op.method, world.url(op), describe=name, json=world.body(op), headers=headers
            )

    probe.assert_clean(at_least=84)


# ---- generated junk -------------------------------------------------------------------------------

JUNK = Junk.seasoned_with(
    [
        "petition",
        "event",
        "signature",
        "actions",
        "attendance",
        "contact_by_organization",
        "share_with_coalition",
        "publish_story",
        "full",
        "anonymous",
        "Europe/Brussels",
        "2030-01-01T00:00:00Z",
        "2000-01-01T00:00:00+00:00",
        "0123456789abcdef",
        "someone@example.org",
        "",
        " ",
        "\x00",
        "$where",
        "null",
        str(uuid.UUID(int=0)),
    ]
)
plausible, json_scalars, junk_json, near_miss = JUNK.words, JUNK.scalars, JUNK.json, JUNK.near_miss


@JUNK_SETTINGS
@given(body=junk_json)
async def test_generated_junk_json_is_never_a_server_error(
    raw_http: httpx.AsyncClient, operations: list[Operation], world: World, body: Any
) -> None:
    probe = Probe(raw_http)
    for op in json_ops(operations):
        await probe.expect_json(
            None, op.method, world.url(op), body, allow_success=True, headers=world.headers
        )

    probe.assert_clean(at_least=16)


@JUNK_SETTINGS
@given(data=st.data())
async def test_generated_near_miss_objects_are_never_a_server_error(
    raw_http: httpx.AsyncClient, operations: list[Operation], world: World, data: st.DataObject
) -> None:
    probe = Probe(raw_http)
    for op in json_ops(operations):
        body = data.draw(near_miss(op), label=f"{op.method} {op.path}")
        await probe.expect_json(
            None, op.method, world.url(op), body, allow_success=True, headers=world.headers
        )

    probe.assert_clean(at_least=16)


@JUNK_SETTINGS
@given(
    details=st.dictionaries(
        st.sampled_from(
            ["time_zone", "starts_at", "ends_at", "place", "online_url", "capacity", "event_type"]
        )
        | any_text,
        junk_json,
        max_size=7,
    )
)
async def test_generated_junk_details_are_never_a_server_error(
    raw_http: httpx.AsyncClient, world: World, details: dict[str, Any]
) -> None:
    probe = Probe(raw_http)
    event = {**DETAILS["event"], **details}

    await probe.expect_json(
        None,
        "PATCH",
        f"/v1/campaigns/{world.event['id']}",
        {"details": event},
        allow_success=True,
        headers=world.headers,
    )
    await probe.expect_json(
        None,
        "POST",
        "/v1/campaigns",
        {
            **(VALID_BODIES[("POST", "/v1/campaigns")]),
            "organization_id": world.lead.id,
            "kind": "event",
            "goal": goal("event"),
            "details": event,
        },
        allow_success=True,
        headers=world.headers,
    )

    probe.assert_clean(at_least=2)


@JUNK_SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["organization_id", "cursor", "limit", "status"]) | any_text, any_text | plausible
    )
)
async def test_generated_junk_queries_are_never_a_server_error(
    raw_http: httpx.AsyncClient, world: World, params: dict[str, str]
) -> None:
    probe = Probe(raw_http)
    query = "&".join(
        f"{quote(k, safe='', errors='surrogatepass')}={quote(v, safe='', errors='surrogatepass')}"
        for k, v in params.items()
    )
    for path in {p for p, _ in BAD_QUERIES}:
        await probe.expect(
            None, "GET", f"{path.format(**world.ids)}?{query}", allow_success=True, headers=world.headers
        )

    probe.assert_clean(at_least=5)


latin1_junk = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)


@JUNK_SETTINGS
@given(key=latin1_junk, token=any_text)
async def test_generated_junk_keys_and_tokens_are_never_a_server_error(
    raw_http: httpx.AsyncClient, world: World, key: str, token: str
) -> None:
    probe = Probe(raw_http)
    body = VALID_BODIES[("POST", "/v1/public/links/{ref}/signatures")]

    await probe.expect_json(
        None,
        "POST",
        f"/v1/public/links/{world.ref}/signatures",
        {**body, "supporter": supporter()},
        allow_success=True,
        headers={"Idempotency-Key": key.encode("latin-1")},  # type: ignore[dict-item]
    )
    await probe.expect_json(None, "POST", "/v1/public/supporter", {"token": token}, allow_success=True)
    await probe.expect(
        401,
        "GET",
        f"/v1/campaigns/{world.campaign['id']}",
        headers={"Authorization": f"Bearer x{key}".encode("latin-1")},  # type: ignore[dict-item]
    )

    probe.assert_clean(at_least=3)
