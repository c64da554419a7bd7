"""Bad input on every coalition endpoint gets an application/problem+json 4xx, never a 500.

The endpoints come from the running app (its OpenAPI document and its routes), so a new endpoint is
covered by every check that applies to it. Requests go through a client that does not re-raise
application errors, so an unhandled error shows up as the 500 response a caller would get.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import jwt as pyjwt
import pytest
from coalition_world import CoalitionWorld, Org
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from identity_api import IdentityApi, bearer

from openapi_operations import Junk, Operation, any_text, methods_by_path, routes, token_required
from openapi_operations import operations as operations_of
from problem_probe import (
    INVALID_UUIDS,
    JUNK_SETTINGS,
    NOT_AN_OBJECT,
    OVERSIZED,
    WRONG_TYPES,
    Probe,
    problem_failure,
)

BASE_URL = "http://coalition.test"


# A valid body for every JSON-body endpoint; `{lead}` and `{member}` name the arranged organizations.
# Each check breaks a valid body in one way only.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/coalitions"): {
        "organization_id": "{lead}",
        "slug": "{slug}",
        "name": "Valid Alliance",
        "mission": "Better care",
        "focus_areas": ["asthma"],
        "countries": ["DE"],
        "visibility": "public",
        "website": "https://example.org",
    },
    ("PATCH", "/v1/coalitions/{coalition_id}"): {
        "name": "Renamed Alliance",
        "mission": "Even better care",
        "focus_areas": ["asthma", "copd"],
        "countries": ["DE", "FR"],
        "visibility": "public",
        "website": "https://example.org/alliance",
    },
    ("POST", "/v1/coalitions/{coalition_id}/invitations"): {"organization_id": "{member}", "role": "member"},
    ("POST", "/v1/coalitions/{coalition_id}/applications"): {
        "organization_id": "{member}",
        "message": "We would like to join",
    },
    ("POST", "/v1/coalitions/{coalition_id}/memberships/{org_id}/approve"): {"reason": "Welcome"},
    ("POST", "/v1/coalitions/{coalition_id}/memberships/{org_id}/reject"): {"reason": "Out of scope"},
    ("POST", "/v1/coalitions/{coalition_id}/memberships/{org_id}/suspend"): {"reason": "Unpaid dues"},
    ("POST", "/v1/coalitions/{coalition_id}/memberships/{org_id}/reinstate"): {"reason": "Paid"},
    ("PATCH", "/v1/coalitions/{coalition_id}/memberships/{org_id}"): {"role": "member"},
    ("PUT", "/v1/coalitions/{coalition_id}/memberships/{org_id}/sharing"): {"level": "aggregate_only"},
}

# Every query parameter of the app, each with values it must refuse.
BAD_QUERIES: dict[tuple[str, str], list[str]] = {
    ("/v1/coalitions", "limit"): ["0", "-1", "101", "1000", "ten", "1.5", "1e3", ""],
    ("/v1/coalitions", "cursor"): [
        "garbage",
        "!!!",
        "x" * 2000,
        "\u00e9t\u00e9",
        base64.urlsafe_b64encode(b"nope").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    ],
    ("/v1/coalitions", "focus_area"): ["x" * 81, "x" * 10_000],
    ("/v1/coalitions", "country"): ["de", "DEU", "D", "12", "", "\u00c9S"],
    ("/v1/coalitions", "q"): ["", "x", "x" * 101, "x" * 10_000],
}

MALFORMED_JSON = [
    b'{"name": ',
    b"not json",
    b"{'single': 'quotes'}",
    b'{"a": 1,}',
    b"\xff\xfe{}",
    b"[" * 100_000,
]


# ---- the endpoints, as the running app describes them ------------------------------------------------


def _operations(app: FastAPI) -> list[Operation]:
    return operations_of(app, "")


_routes = routes
_token_required = token_required
_methods_by_path = methods_by_path


# ---- fixtures -------------------------------------------------------------------------------------


@dataclass
class World:
    """A public coalition led by `lead` with `member` as a member."""

    lead: Org
    member: Org
    coalition: dict[str, Any]

    @property
    def ids(self) -> dict[str, str]:
        return {"coalition_id": self.coalition["id"], "org_id": self.member.id}

    @property
    def headers(self) -> dict[str, str]:
        return self.lead.headers

    def url(self, op: Operation, **overrides: str) -> str:
        return op.path.format(**{**self.ids, **overrides})

    def body(self, op: Operation) -> dict[str, Any] | None:
        """A fresh valid body for the operation (a new slug each time), or None when it takes none."""
        if op.key not in VALID_BODIES:
            return None
        values = {"{lead}": self.lead.id, "{member}": self.member.id, "{slug}": f"v-{uuid.uuid4().hex[:12]}"}
        return {k: values.get(v, v) if isinstance(v, str) else v for k, v in VALID_BODIES[op.key].items()}


@pytest.fixture(scope="module")
async def raw_http(coalition_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=coalition_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture(scope="module")
async def world(
    identity_http: httpx.AsyncClient, raw_http: httpx.AsyncClient, coalition_app: FastAPI
) -> World:
    arrange = CoalitionWorld(IdentityApi(identity_http), raw_http, coalition_app)
    lead, member = await arrange.org("lead"), await arrange.org("member")
    coalition = await arrange.coalition(lead)
    await arrange.member(coalition["id"], lead, member)
    return World(lead, member, coalition)


@pytest.fixture
def probe(raw_http: httpx.AsyncClient) -> Probe:
    return Probe(raw_http)


@pytest.fixture(scope="module")
def operations(coalition_app: FastAPI) -> list[Operation]:
    return _operations(coalition_app)


def json_ops(operations: list[Operation]) -> list[Operation]:
    return [op for op in operations if op.json_body]


# ---- coverage guards ------------------------------------------------------------------------------


def test_every_json_body_endpoint_has_a_valid_example(operations: list[Operation]) -> None:
    assert {op.key for op in json_ops(operations)} == set(VALID_BODIES)


def test_every_query_parameter_has_bad_values(operations: list[Operation]) -> None:
    assert {(op.path, name) for op in operations for name in op.query_params} == set(BAD_QUERIES)


async def test_the_valid_examples_pass_validation(
    raw_http: httpx.AsyncClient, operations: list[Operation], world: World
) -> None:
    """Otherwise the checks below, which each break a valid body in one way, would prove nothing."""
    refused = {}
    for op in json_ops(operations):
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

    probe.assert_clean(at_least=50)


async def test_body_that_is_not_an_object_is_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in json_ops(operations):
        for body in NOT_AN_OBJECT:
            await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=50)


async def test_missing_required_body_is_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in json_ops(operations) if op.body_required):
        await probe.expect(422, op.method, world.url(op), describe="without a body", headers=world.headers)

    probe.assert_clean(at_least=6)


async def test_json_body_with_another_content_type_is_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in json_ops(operations):
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

    probe.assert_clean(at_least=30)


async def test_wrong_json_types_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in json_ops(operations):
        for name, kinds in op.field_kinds().items():
            for wrong in WRONG_TYPES:
                if isinstance(wrong, bool) and "boolean" in kinds:
                    continue  # a flag (require_current_disclosure) takes true: not a wrong type for it
                body = {**(world.body(op) or {}), name: wrong}
                await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=80)


async def test_values_outside_an_enumeration_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    fields = {"visibility": "secret", "role": "owner", "level": "everything"}
    for op in json_ops(operations):
        for name, value in fields.items():
            if name in op.field_kinds():
                for wrong in (value, value.upper(), ""):
                    body = {**(world.body(op) or {}), name: wrong}
                    await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=15)


async def test_missing_required_fields_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in json_ops(operations):
        for name in op.body_schema().get("required", []):
            body = {k: v for k, v in (world.body(op) or {}).items() if k != name}
            await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=8)


async def test_unknown_fields_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    extras = (
        {"status": "archived"},
        {"created_by_org": str(uuid.uuid4())},
        {"state": "active"},
        {"sharing_level": "contacts_with_consent"},
        {"_id": "x"},
        {"": None},
    )
    for op in json_ops(operations):
        for extra in extras:
            body = {**(world.body(op) or {}), **extra}
            await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=60)


async def test_oversized_values_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in json_ops(operations):
        for name, kinds in op.field_kinds().items():
            oversized: list[Any] = []
            if kinds & {"string", "enum"}:
                oversized.append(OVERSIZED)
            if "array" in kinds:
                oversized += [[OVERSIZED], ["DE"] * 1000, [f"tag{i}" for i in range(31)]]
            for value in oversized:
                body = {**(world.body(op) or {}), name: value}
                await probe.expect_json(
                    422, op.method, world.url(op), body, describe=f"oversized {name}", headers=world.headers
                )

    probe.assert_clean(at_least=15)


async def test_invalid_slugs_countries_and_websites_are_422(probe: Probe, world: World) -> None:
    create = Operation("POST", "/v1/coalitions", {}, {})
    update = Operation("PATCH", "/v1/coalitions/{coalition_id}", {}, {})
    cases: list[tuple[Operation, str, Any]] = [
        (create, "slug", value)
        for value in ("", "a", "Upper-Case", "-leading", "trailing-", "with space", "x" * 64, "caf\u00e9")
    ]
    cases += [
        (op, "countries", value) for op in (create, update) for value in (["de"], ["DEU"], [""], ["D1"])
    ]
    cases += [
        (op, "website", value)
        for op in (create, update)
        for value in ("not a url", "ftp://example.org", "javascript:alert(1)", "https://", "")
    ]
    cases += [(op, "name", value) for op in (create, update) for value in ("", "   ")]
    cases += [(op, "focus_areas", value) for op in (create, update) for value in ([""], ["  "])]
    for op, name, value in cases:
        body = {**(world.body(op) or {}), name: value}
        await probe.expect_json(422, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=30)


async def test_lone_surrogates_in_strings_are_a_4xx(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in json_ops(operations):
        for name, kinds in op.field_kinds().items():
            if "string" in kinds:
                body = {**(world.body(op) or {}), name: "text \ud800 with a lone surrogate"}
                await probe.expect_json(None, op.method, world.url(op), body, headers=world.headers)

    probe.assert_clean(at_least=10)


async def test_body_over_one_mebibyte_is_413(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in json_ops(operations):
        await probe.expect(
            413,
            op.method,
            world.url(op),
            describe="1.1 MiB body",
            content=b"x" * 1_150_000,
            headers={"content-type": "application/json", **world.headers},
        )

    probe.assert_clean(at_least=10)


# ---- paths, query strings and methods -------------------------------------------------------------


async def test_invalid_uuids_in_the_path_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in operations:
        for name, schema in op.path_params.items():
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

    probe.assert_clean(at_least=100)


async def test_an_unknown_coalition_is_404(probe: Probe, operations: list[Operation], world: World) -> None:
    unknown = str(uuid.uuid4())
    for op in (op for op in operations if "coalition_id" in op.path_params):
        url = world.url(op, coalition_id=unknown, org_id=world.lead.id)
        body = world.body(op)
        if body and "organization_id" in body:
            body["organization_id"] = world.lead.id
        await probe.expect(
            404, op.method, url, describe="unknown coalition", json=body, headers=world.headers
        )

    probe.assert_clean(at_least=15)


async def test_a_lead_managing_an_organization_without_membership_gets_404(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    unknown = str(uuid.uuid4())
    lead_actions = [
        op
        for op in operations
        if "org_id" in op.path_params
        and "coalition_id" in op.path_params
        and not op.path.endswith(("/accept", "/decline", "/leave"))
    ]
    for op in lead_actions:
        await probe.expect(
            404,
            op.method,
            world.url(op, org_id=unknown),
            describe="unknown organization",
            json=world.body(op),
            headers=world.headers,
        )

    probe.assert_clean(at_least=7)


async def test_bad_query_parameters_are_422(probe: Probe, world: World) -> None:
    for (path, name), values in BAD_QUERIES.items():
        for value in values:
            await probe.expect(
                422,
                "GET",
                path,
                describe=f"{name}={value[:40]!r}",
                params={name: value},
                headers=world.headers,
            )

    probe.assert_clean(at_least=20)


async def test_query_text_with_control_and_regex_characters_is_not_an_error(
    raw_http: httpx.AsyncClient, world: World
) -> None:
    failures = []
    for value in ("a\x00b", ".*", "(unclosed", "[a-", "\\", "a\nb", "$where", "\u00e9\u00e8", "\U0001f600x"):
        for name in ("q", "focus_area"):
            response = await raw_http.get("/v1/coalitions", params={name: value})
            if response.status_code != 200 and problem_failure("", response) is not None:
                failures.append(f"{name}={value!r} -> {response.status_code} {response.text[:200]}")

    assert failures == []


async def test_methods_a_route_does_not_have_are_405(
    probe: Probe, coalition_app: FastAPI, world: World
) -> None:
    for path, methods in _methods_by_path(coalition_app).items():
        if not path.startswith("/v1/"):
            continue
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
            await probe.expect(405, method, path.format(**world.ids), headers=world.headers)

    probe.assert_clean(at_least=40)


async def test_unknown_paths_are_404(probe: Probe, world: World) -> None:
    for path in (
        "/v2/coalitions",
        "/v1/coalitions/{coalition_id}/secrets",
        "/v1/coalitions/{coalition_id}/memberships",
        "/v1/coalitions/{coalition_id}/memberships/{org_id}/promote",
        "/.env",
        "/v1/",
    ):
        await probe.expect(404, "GET", path.format(**world.ids), headers=world.headers)

    probe.assert_clean(at_least=6)


# ---- credentials ----------------------------------------------------------------------------------


async def _bad_tokens(identity_app: FastAPI, genuine: str) -> dict[str, str]:
    """Bearer tokens that must not authenticate anyone."""
    claims = pyjwt.decode(genuine, options={"verify_signature": False})
    now = int(time.time())
    kid = pyjwt.get_unverified_header(genuine)["kid"]
    header, _, signature = genuine.split(".")
    tampered = base64.urlsafe_b64encode(json.dumps({**claims, "padm": True}).encode()).decode().rstrip("=")
    rogue = ec.generate_private_key(ec.SECP256R1())
    at = {"typ": "at+jwt", "kid": kid}
    sign = identity_app.state.identity.keys.sign

    return {
        "payload tampered to claim platform admin": f"{header}.{tampered}.{signature}",
        "alg none": pyjwt.encode(claims, None, algorithm="none", headers=at),
        "HS256": pyjwt.encode(claims, "a shared secret of 32 bytes or more", algorithm="HS256", headers=at),
        "ES256 by a rogue key under the real kid": pyjwt.encode(claims, rogue, algorithm="ES256", headers=at),
        "ES256 by a rogue key under an unknown kid": pyjwt.encode(
            claims, rogue, algorithm="ES256", headers={**at, "kid": "rogue"}
        ),
        "expired an hour ago": await sign(
            {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}
        ),
        "issued for another audience": await sign({**claims, "aud": "someone-else"}),
        "issued by another issuer": await sign({**claims, "iss": "https://evil.example"}),
        "not valid before tomorrow": await sign({**claims, "nbf": now + 86_400}),
        "organization roles that are not a mapping": await sign({**claims, "orgs": ["admin"]}),
        "an organization id that is not a UUID": await sign({**claims, "orgs": {"not-a-uuid": "admin"}}),
        "an organization role that does not exist": await sign(
            {**claims, "orgs": {str(uuid.uuid4()): "superuser"}}
        ),
        "an API client token without its organization": await sign({**claims, "cid": "cli_x"}),
        "an API client token with a malformed organization": await sign(
            {**claims, "cid": "cli_x", "org": "nope"}
        ),
        "an expiry that is not a number": await sign({**claims, "exp": "tomorrow"}),
        "not a JWT": "not-a-token",
        "two segments": "a.b",
        "three junk segments": "a.b.c",
        "a header that is not an object": "W10.e30.sig",
    }


async def test_no_token_is_401_where_one_is_required(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    no_token: dict[str, dict[str, str]] = {
        "no Authorization header": {},
        "Bearer without a token": {"Authorization": "Bearer"},
        "Basic credentials": {"Authorization": "Basic " + base64.b64encode(b"user:pass").decode()},
        "unknown scheme": {"Authorization": f"Token {world.lead.admin.token}"},
    }
    for op in (op for op in operations if op.requires_token):
        for name, headers in no_token.items():
            response = await probe.expect(
                401, op.method, world.url(op), describe=name, json=world.body(op), headers=headers
            )
            if response.status_code == 401 and "www-authenticate" not in response.headers:
                probe.failures.append(f"{op.method} {op.path} {name}: 401 without WWW-Authenticate")

    probe.assert_clean(at_least=60)


async def test_invalid_tokens_are_401_wherever_a_token_is_read(
    probe: Probe, operations: list[Operation], world: World, identity_for_coalition: FastAPI
) -> None:
    tokens = await _bad_tokens(identity_for_coalition, world.lead.admin.token)
    for op in (op for op in operations if op.takes_token):
        for name, token in tokens.items():
            await probe.expect(
                401, op.method, world.url(op), describe=name, json=world.body(op), headers=bearer(token)
            )

    probe.assert_clean(at_least=300)


# ---- generated junk -------------------------------------------------------------------------------

JUNK = Junk.seasoned_with(
    [
        "lead",
        "member",
        "observer",
        "public",
        "private",
        "aggregate_only",
        "contacts_with_consent",
        "DE",
        "de",
        "https://example.org",
        "",
        " ",
        "\x00",
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

    probe.assert_clean(at_least=10)


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

    probe.assert_clean(at_least=10)


@JUNK_SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["focus_area", "country", "q", "cursor", "limit"]) | any_text, any_text | plausible
    )
)
async def test_generated_junk_queries_are_never_a_server_error(
    raw_http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    probe = Probe(raw_http)
    query = "&".join(
        f"{quote(k, safe='', errors='surrogatepass')}={quote(v, safe='', errors='surrogatepass')}"
        for k, v in params.items()
    )

    await probe.expect(None, "GET", f"/v1/coalitions?{query}", allow_success=True)

    probe.assert_clean()


latin1_junk = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)


@JUNK_SETTINGS
@given(credentials=latin1_junk)
async def test_generated_junk_bearer_tokens_are_401(
    raw_http: httpx.AsyncClient, world: World, credentials: str
) -> None:
    probe = Probe(raw_http)
    header = f"Bearer x{credentials}".encode("latin-1")

    await probe.expect(
        401, "POST", f"/v1/coalitions/{world.coalition['id']}/archive", headers={"Authorization": header}
    )
    await probe.expect(
        401, "GET", f"/v1/coalitions/{world.coalition['id']}", headers={"Authorization": header}
    )

    probe.assert_clean(at_least=2)
