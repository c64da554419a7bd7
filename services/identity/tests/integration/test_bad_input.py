"""Bad input on every endpoint gets an application/problem+json 4xx, never a 500.

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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from identity_api import ISSUER, PASSWORD, IdentityApi, Person, bearer, oauth_error_failure

from common.scopes import required_scope
from openapi_operations import Junk, Operation, any_text, methods_by_path, routes, token_required
from openapi_operations import operations as operations_of
from problem_probe import (
    INVALID_UUIDS,
    JUNK_SETTINGS,
    NOT_AN_OBJECT,
    OVERSIZED,
    WRONG_TYPES,
    Probe,
)

# A valid body for every JSON-body endpoint; each check breaks it in one way only.
VALID_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/users"): {
        "email": "new-user@example.org",
        "password": PASSWORD,
        "display_name": "New User",
    },
    ("PATCH", "/v1/users/me"): {"display_name": "Renamed"},
    ("POST", "/v1/users/me/password"): {
        "current_password": PASSWORD,
        "new_password": "another fine passphrase",
    },
    ("POST", "/v1/organizations"): {
        "slug": "valid-slug",
        "name": "Alliance",
        "kind": "other",
        "country": "DE",
    },
    ("PATCH", "/v1/organizations/{org_id}"): {"name": "Renamed Alliance", "website": "https://example.org"},
    ("POST", "/v1/organizations/{org_id}/deactivate"): {"reason": "merged"},
    ("PATCH", "/v1/organizations/{org_id}/members/{user_id}"): {"role": "organizer"},
    ("POST", "/v1/organizations/{org_id}/invitations"): {"email": "invitee@example.org", "role": "member"},
    ("POST", "/v1/organizations/{org_id}/clients"): {"name": "CRM sync", "scopes": ["organizations:read"]},
    ("PUT", "/v1/organizations/{org_id}/disclosures"): {
        "funders": [
            {"name": "Acme Pharma", "kind": "pharmaceutical", "amount_band": "10k_50k", "year": 2025}
        ],
        "declared_at": "2026-01-15T00:00:00Z",
    },
    ("POST", "/v1/invitations/accept"): {"token": "inv_" + "x" * 40},
    ("POST", "/v1/users/email-verification/confirm"): {"token": "ev_" + "x" * 40},
}

# Every query parameter of the app, each with values it must refuse.
BAD_QUERIES: dict[tuple[str, str], list[str]] = {
    ("/v1/organizations", "limit"): ["0", "-1", "101", "1000", "ten", "1.5", ""],
    ("/v1/organizations", "cursor"): [
        "garbage",
        "!!!",
        "x" * 2000,
        base64.urlsafe_b64encode(b"nope").decode(),
    ],
    ("/v1/organizations", "kind"): ["charity", "OTHER", ""],
    ("/v1/organizations", "country"): ["de", "DEU", "D", "12", ""],
}

MALFORMED_JSON = [
    b'{"email": ',
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


@dataclass(repr=False)
class World:
    """An organization with its owner, a plain member, a pending invitation and an API client."""

    owner: Person
    member: Person
    org: dict[str, Any]
    invitation: dict[str, Any]
    client: dict[str, Any]

    @property
    def ids(self) -> dict[str, str]:
        return {
            "org_id": self.org["id"],
            "user_id": self.member.id,
            "invitation_id": self.invitation["id"],
            "client_id": self.client["client_id"],
        }

    def __repr__(self) -> str:
        return f"World(org={self.org['id']})"

    def url(self, op: Operation, **overrides: str) -> str:
        return op.path.format(**{**self.ids, **overrides})


@pytest.fixture(scope="module")
async def raw_http(identity_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=identity_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


@pytest.fixture
def probe(raw_http: httpx.AsyncClient) -> Probe:
    return Probe(raw_http)


@pytest.fixture
def operations(identity_app: FastAPI) -> list[Operation]:
    return _operations(identity_app)


@pytest.fixture
async def world(raw_http: httpx.AsyncClient) -> World:
    api = IdentityApi(raw_http)
    owner = await api.person("owner")
    org = await api.organization(owner)
    member = await api.add_member(org["id"], owner, role="member")
    invitation = await raw_http.post(
        f"/v1/organizations/{org['id']}/invitations",
        json={"email": "pending@example.org"},
        headers=owner.headers,
    )
    client = await raw_http.post(
        f"/v1/organizations/{org['id']}/clients",
        json={"name": "Sync", "scopes": ["organizations:read"]},
        headers=owner.headers,
    )
    assert invitation.status_code == client.status_code == 201, (invitation.text, client.text)
    return World(owner, member, org, invitation.json(), client.json())


# ---- coverage guards ------------------------------------------------------------------------------


def test_every_json_body_endpoint_has_a_valid_example(operations: list[Operation]) -> None:
    json_endpoints = {op.key for op in operations if op.json_body}

    assert json_endpoints == set(VALID_BODIES)


async def test_the_valid_examples_pass_validation(
    raw_http: httpx.AsyncClient, operations: list[Operation], world: World
) -> None:
    """Otherwise the checks below, which each break a valid body in one way, would prove nothing."""
    refused = {}
    for op in (op for op in operations if op.json_body):
        response = await raw_http.request(
            op.method, world.url(op), json=VALID_BODIES[op.key], headers=world.owner.headers
        )
        if response.status_code in (400, 422) or response.status_code >= 500:
            refused[op.key] = response.text

    assert refused == {}


def test_every_query_parameter_has_bad_values(operations: list[Operation]) -> None:
    query_params = {(op.path, name) for op in operations for name in op.query_params}

    assert query_params == set(BAD_QUERIES)


# ---- JSON bodies ----------------------------------------------------------------------------------


async def test_malformed_json_is_400(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in operations if op.json_body):
        for content in MALFORMED_JSON:
            await probe.expect(
                400,
                op.method,
                world.url(op),
                describe=f"body {content[:40]!r}",
                content=content,
                headers={"content-type": "application/json", **world.owner.headers},
            )

    probe.assert_clean(at_least=10)


async def test_body_that_is_not_an_object_is_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in (op for op in operations if op.json_body):
        for body in NOT_AN_OBJECT:
            await probe.expect_json(422, op.method, world.url(op), body, headers=world.owner.headers)

    probe.assert_clean(at_least=10)


async def test_missing_body_is_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in operations if op.json_body and op.body_required):
        await probe.expect(
            422, op.method, world.url(op), describe="without a body", headers=world.owner.headers
        )

    probe.assert_clean(at_least=9)


async def test_json_body_with_another_content_type_is_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in (op for op in operations if op.json_body):
        body = json.dumps(VALID_BODIES[op.key]).encode()
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            await probe.expect(
                422,
                op.method,
                world.url(op),
                describe=content_type,
                content=body,
                headers={"content-type": content_type, **world.owner.headers},
            )

    probe.assert_clean(at_least=10)


async def test_wrong_json_types_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in operations if op.json_body):
        for name in op.field_kinds():
            for wrong in WRONG_TYPES:
                body = {**VALID_BODIES[op.key], name: wrong}
                await probe.expect_json(422, op.method, world.url(op), body, headers=world.owner.headers)

    probe.assert_clean(at_least=40)


async def test_missing_required_fields_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in (op for op in operations if op.json_body):
        for name in op.body_schema().get("required", []):
            body = {k: v for k, v in VALID_BODIES[op.key].items() if k != name}
            await probe.expect_json(422, op.method, world.url(op), body, headers=world.owner.headers)

    probe.assert_clean(at_least=10)


async def test_unknown_fields_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in operations if op.json_body):
        for extra in ({"platform_admin": True}, {"org_id": world.org["id"]}, {"": None}):
            body = {**VALID_BODIES[op.key], **extra}
            await probe.expect_json(422, op.method, world.url(op), body, headers=world.owner.headers)

    probe.assert_clean(at_least=30)


async def test_oversized_values_are_422(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in operations if op.json_body):
        for name, kinds in op.field_kinds().items():
            oversized: list[Any] = []
            if "string" in kinds:
                oversized.append(OVERSIZED + ("@example.org" if "email" in name else ""))
            if "array" in kinds:
                oversized += [[OVERSIZED], ["organizations:read"] * 1000]
            for value in oversized:
                body = {**VALID_BODIES[op.key], name: value}
                await probe.expect_json(
                    422,
                    op.method,
                    world.url(op),
                    body,
                    describe=f"oversized {name}",
                    headers=world.owner.headers,
                )

    probe.assert_clean(at_least=15)


async def test_lone_surrogates_in_strings_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in (op for op in operations if op.json_body):
        for name, kinds in op.field_kinds().items():
            if "string" in kinds:
                body = {**VALID_BODIES[op.key], name: "a sensible \ud800 passphrase"}
                await probe.expect_json(422, op.method, world.url(op), body, headers=world.owner.headers)

    probe.assert_clean(at_least=10)


async def test_body_over_one_mebibyte_is_413(probe: Probe, operations: list[Operation], world: World) -> None:
    for op in (op for op in operations if op.any_body):
        await probe.expect(
            413,
            op.method,
            world.url(op),
            describe="1.1 MiB body",
            content=b"x" * 1_150_000,
            headers={"content-type": "application/json", **world.owner.headers},
        )

    probe.assert_clean(at_least=10)


# ---- paths, query strings and methods -------------------------------------------------------------


async def test_invalid_uuids_in_the_path_are_422(
    probe: Probe, operations: list[Operation], world: World
) -> None:
    for op in operations:
        body = VALID_BODIES.get(op.key)
        for name, schema in op.path_params.items():
            if schema.get("format") != "uuid":
                continue
            for bad in INVALID_UUIDS:
                url = world.url(op, **{name: quote(bad, safe="")})
                await probe.expect(
                    422,
                    op.method,
                    url,
                    describe=f"{name}={bad[:40]!r}",
                    json=body,
                    headers=world.owner.headers,
                )

    probe.assert_clean(at_least=50)


async def test_unknown_ids_in_the_path_are_404_even_for_a_platform_admin(
    probe: Probe, operations: list[Operation], world: World, raw_http: httpx.AsyncClient
) -> None:
    admin = await IdentityApi(raw_http).admin()
    for op in operations:
        body = VALID_BODIES.get(op.key)
        for name in op.path_params:
            unknown = str(uuid.uuid4()) if op.path_params[name].get("format") == "uuid" else "cli_unknown"
            url = world.url(op, **{name: unknown})
            await probe.expect(
                404, op.method, url, describe=f"unknown {name}", json=body, headers=admin.headers
            )

    probe.assert_clean(at_least=15)


async def test_bad_query_parameters_are_422(probe: Probe) -> None:
    for (path, name), values in BAD_QUERIES.items():
        for value in values:
            await probe.expect(422, "GET", path, describe=f"{name}={value[:40]!r}", params={name: value})

    probe.assert_clean(at_least=15)


async def test_methods_a_route_does_not_have_are_405(
    probe: Probe, identity_app: FastAPI, world: World
) -> None:
    for path, methods in _methods_by_path(identity_app).items():
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
            url = path.format(**world.ids)
            await probe.expect(405, method, url, headers=world.owner.headers)

    probe.assert_clean(at_least=50)


async def test_unknown_paths_are_404(probe: Probe, world: World) -> None:
    for path in ("/v2/users", "/v1/organizations/{org_id}/secrets", "/v1/users/me/tokens", "/.env", "/v1/"):
        await probe.expect(404, "GET", path.format(org_id=world.org["id"]), headers=world.owner.headers)

    probe.assert_clean(at_least=5)


# ---- credentials ----------------------------------------------------------------------------------


async def _signed_by_the_service(app: FastAPI, claims: dict[str, Any]) -> str:
    """A token with a genuine signature, for claims the service itself would never issue."""
    token: str = await app.state.identity.keys.sign(claims)
    return token


async def _bad_credentials(app: FastAPI, genuine: str) -> dict[str, dict[str, str]]:
    """Authorization headers that must not authenticate anyone."""
    claims = pyjwt.decode(genuine, options={"verify_signature": False})
    now = int(time.time())
    kid = pyjwt.get_unverified_header(genuine)["kid"]
    header, _, signature = genuine.split(".")
    tampered = base64.urlsafe_b64encode(json.dumps({**claims, "padm": True}).encode()).decode().rstrip("=")
    rogue = ec.generate_private_key(ec.SECP256R1())
    at = {"typ": "at+jwt", "kid": kid}
    tokens = {
        "payload tampered to claim platform admin": f"{header}.{tampered}.{signature}",
        "alg none": pyjwt.encode(claims, None, algorithm="none", headers=at),
        "HS256": pyjwt.encode(claims, "a shared secret of 32 bytes or more", algorithm="HS256", headers=at),
        "ES256 by a rogue key under the real kid": pyjwt.encode(claims, rogue, algorithm="ES256", headers=at),
        "ES256 by a rogue key under an unknown kid": pyjwt.encode(
            claims, rogue, algorithm="ES256", headers={**at, "kid": "rogue"}
        ),
        "expired an hour ago": await _signed_by_the_service(
            app, {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}
        ),
        "issued for another audience": await _signed_by_the_service(app, {**claims, "aud": "someone-else"}),
        "issued by another issuer": await _signed_by_the_service(
            app, {**claims, "iss": "https://evil.example"}
        ),
        "not valid before tomorrow": await _signed_by_the_service(app, {**claims, "nbf": now + 86_400}),
        "not a JWT": "not-a-token",
        "two segments": "a.b",
        "three junk segments": "a.b.c",
    }
    return {
        "no Authorization header": {},
        "Bearer without a token": {"Authorization": "Bearer"},
        "Basic credentials": {"Authorization": "Basic " + base64.b64encode(b"user:pass").decode()},
        "unknown scheme": {"Authorization": f"Token {genuine}"},
        **{f"Bearer, {name}": bearer(token) for name, token in tokens.items()},
    }


async def test_absent_or_bad_credentials_are_401(
    probe: Probe, operations: list[Operation], world: World, identity_app: FastAPI
) -> None:
    credentials = await _bad_credentials(identity_app, world.owner.token)
    for op in (op for op in operations if op.secured):
        for name, headers in credentials.items():
            response = await probe.expect(
                401, op.method, world.url(op), describe=name, json=VALID_BODIES.get(op.key), headers=headers
            )
            if response.status_code == 401 and "www-authenticate" not in response.headers:
                probe.failures.append(f"{op.method} {op.path} {name}: 401 without WWW-Authenticate")

    probe.assert_clean(at_least=200)


async def test_api_client_tokens_are_403_on_endpoints_for_signed_in_users(
    probe: Probe, operations: list[Operation], world: World, raw_http: httpx.AsyncClient
) -> None:
    granted = await raw_http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.client["client_id"],
            "client_secret": world.client["client_secret"],
        },
    )
    assert granted.status_code == 200, granted.text
    client = bearer(granted.json()["access_token"])
    # The endpoints the scope table opens to API clients (its own members, with organizations:read) aside.
    for op in (op for op in operations if op.secured and required_scope(*op.key) is None):
        await probe.expect(403, op.method, world.url(op), json=VALID_BODIES.get(op.key), headers=client)

    probe.assert_clean(at_least=15)


# ---- the OAuth endpoints --------------------------------------------------------------------------

FORM = {"content-type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class TokenRequest:
    """A bad request to /oauth/token with the status and RFC 6749 error code it deserves.

    Form values may name the arranged world's `{email}`, `{client_id}`, `{client_secret}`, `{access_token}`.
    """

    status: int
    error: str
    form: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    json_body: dict[str, str] | None = None
    files: dict[str, bytes] | None = None

    def send(self, http: httpx.AsyncClient, world: World) -> Any:
        basic = f"{world.client['client_id']}:{world.client['client_secret']}"
        values = {
            "email": world.owner.email,
            "client_id": world.client["client_id"],
            "client_secret": world.client["client_secret"],
            "access_token": world.owner.token,
            "refresh_token": world.owner.refresh_token,
            "basic": base64.b64encode(basic.encode()).decode(),
        }
        form = {k: v.format(**values) for k, v in self.form.items()} if self.form is not None else None
        headers = {k: v.format(**values) if isinstance(v, str) else v for k, v in self.headers.items()}
        return http.post(
            "/oauth/token",
            data=form,
            content=self.content,
            headers=headers,
            json=self.json_body,
            files=self.files,
        )


LOGIN = {"grant_type": "password", "username": "{email}", "password": PASSWORD}
CLIENT_LOGIN = {
    "grant_type": "client_credentials",
    "client_id": "{client_id}",
    "client_secret": "{client_secret}",
}

TOKEN_REQUESTS: dict[str, TokenRequest] = {
    "JSON instead of a form": TokenRequest(
        400, "invalid_request", json_body={**LOGIN, "username": "x@example.org"}
    ),
    "no content type": TokenRequest(400, "invalid_request", content=b"grant_type=password"),
    "text/plain": TokenRequest(
        400, "invalid_request", content=b"grant_type=password", headers={"content-type": "text/plain"}
    ),
    "multipart form": TokenRequest(400, "invalid_request", form=LOGIN, files={"attachment": b"x"}),
    "empty body": TokenRequest(400, "invalid_request", content=b"", headers=FORM),
    "missing grant_type": TokenRequest(400, "invalid_request", {"username": "{email}", "password": PASSWORD}),
    "empty grant_type": TokenRequest(400, "invalid_request", {**LOGIN, "grant_type": ""}),
    "unknown grant_type": TokenRequest(400, "unsupported_grant_type", {"grant_type": "authorization_code"}),
    "grant_type in capitals": TokenRequest(
        400, "unsupported_grant_type", {**LOGIN, "grant_type": "PASSWORD"}
    ),
    "grant_type given twice": TokenRequest(
        400, "invalid_request", content=b"grant_type=password&grant_type=client_credentials", headers=FORM
    ),
    "password grant without username": TokenRequest(
        400, "invalid_request", {"grant_type": "password", "password": PASSWORD}
    ),
    "password grant without password": TokenRequest(
        400, "invalid_request", {"grant_type": "password", "username": "{email}"}
    ),
    "password grant with an overlong username": TokenRequest(
        400, "invalid_request", {**LOGIN, "username": "x" * 2000 + "@example.org"}
    ),
    "password grant with a wrong password": TokenRequest(
        400, "invalid_grant", {**LOGIN, "username": "nobody@example.org", "password": "not the password"}
    ),
    "form body over 16 KiB": TokenRequest(400, "invalid_request", {**LOGIN, "scope": "x" * 20_000}),
    "form body not UTF-8": TokenRequest(
        400, "invalid_request", content=b"grant_type=password&username=\xff\xfe", headers=FORM
    ),
    "refresh grant without the token": TokenRequest(400, "invalid_request", {"grant_type": "refresh_token"}),
    "refresh grant with a made-up token": TokenRequest(
        400, "invalid_grant", {"grant_type": "refresh_token", "refresh_token": "rt_made-up"}
    ),
    "refresh grant with an access token": TokenRequest(
        400, "invalid_grant", {"grant_type": "refresh_token", "refresh_token": "{access_token}"}
    ),
    "client grant without credentials": TokenRequest(
        401, "invalid_client", {"grant_type": "client_credentials"}
    ),
    "client grant without a secret": TokenRequest(
        401, "invalid_client", {"grant_type": "client_credentials", "client_id": "{client_id}"}
    ),
    "client grant with a wrong secret": TokenRequest(
        401, "invalid_client", {**CLIENT_LOGIN, "client_secret": "cs_wrong"}
    ),
    "client grant for an unknown client": TokenRequest(
        401, "invalid_client", {**CLIENT_LOGIN, "client_id": "cli_unknown"}
    ),
    "client grant with Basic credentials that are not base64": TokenRequest(
        401, "invalid_client", {"grant_type": "client_credentials"}, headers={"Authorization": "Basic !!!"}
    ),
    "client grant with Basic credentials that are not UTF-8": TokenRequest(
        401,
        "invalid_client",
        {"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
    ),
    "client grant with non-ASCII Basic credentials": TokenRequest(
        401,
        "invalid_client",
        {"grant_type": "client_credentials"},
        headers={"Authorization": "Basic \u00e9t\u00e9:secret".encode("latin-1")},
    ),
    "client grant asking for a scope it was not granted": TokenRequest(
        400, "invalid_scope", {**CLIENT_LOGIN, "scope": "webhooks:manage"}
    ),
    "client grant with Basic credentials without a colon": TokenRequest(
        401,
        "invalid_client",
        {"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"cli_without_secret").decode()},
    ),
    "client grant with Basic credentials and a client_secret in the form": TokenRequest(
        400,
        "invalid_request",
        {"grant_type": "client_credentials", "client_secret": "{client_secret}"},
        headers={"Authorization": "Basic {basic}"},
    ),
    "client grant with Basic credentials naming another client_id in the form": TokenRequest(
        400,
        "invalid_request",
        {"grant_type": "client_credentials", "client_id": "cli_someone_else"},
        headers={"Authorization": "Basic {basic}"},
    ),
    "client grant with a Basic secret that is wrong": TokenRequest(
        401,
        "invalid_client",
        {"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"cli_unknown:cs_wrong").decode()},
    ),
    "client grant with a client_secret but no client_id": TokenRequest(
        401, "invalid_client", {"grant_type": "client_credentials", "client_secret": "{client_secret}"}
    ),
    "client grant by the platform's public client": TokenRequest(
        401, "invalid_client", {"grant_type": "client_credentials", "client_id": "coalition-platform"}
    ),
    "password grant asking for a client scope": TokenRequest(
        400, "invalid_scope", {**LOGIN, "scope": "campaigns:write"}
    ),
    "password grant asking for openid (this is no OpenID provider)": TokenRequest(
        400, "invalid_scope", {**LOGIN, "scope": "openid profile"}
    ),
    "password grant by an API client": TokenRequest(
        400, "unauthorized_client", {**LOGIN, "client_id": "{client_id}", "client_secret": "{client_secret}"}
    ),
    "password grant by an API client with Basic credentials": TokenRequest(
        400, "unauthorized_client", LOGIN, headers={"Authorization": "Basic {basic}"}
    ),
    "password grant naming an API client without its secret": TokenRequest(
        401, "invalid_client", {**LOGIN, "client_id": "{client_id}"}
    ),
    "password grant by an API client with a wrong secret": TokenRequest(
        401, "invalid_client", {**LOGIN, "client_id": "{client_id}", "client_secret": "cs_wrong"}
    ),
    "password grant with a secret for the public client": TokenRequest(
        401, "invalid_client", {**LOGIN, "client_id": "coalition-platform", "client_secret": "cs_x"}
    ),
    "refresh grant by an API client": TokenRequest(
        400,
        "unauthorized_client",
        {**CLIENT_LOGIN, "grant_type": "refresh_token", "refresh_token": "{refresh_token}"},
    ),
    "refresh grant asking for a scope the session does not have": TokenRequest(
        400,
        "invalid_scope",
        {"grant_type": "refresh_token", "refresh_token": "{refresh_token}", "scope": "campaigns:read"},
    ),
    "refresh grant with an overlong scope": TokenRequest(
        400,
        "invalid_request",
        {"grant_type": "refresh_token", "refresh_token": "{refresh_token}", "scope": "x" * 2000},
    ),
}


@pytest.mark.parametrize("case", TOKEN_REQUESTS.values(), ids=TOKEN_REQUESTS.keys())
async def test_bad_token_requests_get_an_oauth_error(
    raw_http: httpx.AsyncClient, world: World, case: TokenRequest
) -> None:
    response = await case.send(raw_http, world)

    assert oauth_error_failure(response, case.status, case.error) is None


REVOKE_REQUESTS: dict[str, dict[str, Any]] = {
    "JSON instead of a form": {"json": {"token": "rt_x"}},
    "no content type": {"content": b"token=rt_x"},
    "missing token": {"data": {"token_type_hint": "refresh_token"}},
    "empty token": {"data": {"token": ""}},
    "token given twice": {"content": b"token=a&token=b", "headers": FORM},
    "overlong token": {"data": {"token": "x" * 5000}},
}


@pytest.mark.parametrize("request_", REVOKE_REQUESTS.values(), ids=REVOKE_REQUESTS.keys())
async def test_bad_revocation_requests_are_400(raw_http: httpx.AsyncClient, request_: dict[str, Any]) -> None:
    response = await raw_http.post("/oauth/revoke", **request_)

    assert oauth_error_failure(response, 400, "invalid_request") is None


# ---- generated junk -------------------------------------------------------------------------------

# Text of any code point, lone surrogates included (they travel as \\ud800 escapes in JSON).
JUNK = Junk.seasoned_with(
    [
        "owner",
        "admin",
        "member",
        "other",
        "DE",
        "de",
        "https://example.org",
        "x@example.org",
        "",
        " ",
        "organizations:read",
        "patient_association",
        PASSWORD,
        "inv_" + "x" * 40,
        "\x00",
        "null",
    ]
)
plausible, json_scalars, junk_json, near_miss = JUNK.words, JUNK.scalars, JUNK.json, JUNK.near_miss


@JUNK_SETTINGS
@given(body=junk_json)
async def test_generated_junk_json_is_never_a_server_error(
    raw_http: httpx.AsyncClient, identity_app: FastAPI, world: World, body: Any
) -> None:
    probe = Probe(raw_http)
    for op in (op for op in _operations(identity_app) if op.json_body):
        await probe.expect_json(
            None, op.method, world.url(op), body, allow_success=True, headers=world.owner.headers
        )

    probe.assert_clean(at_least=10)


@JUNK_SETTINGS
@given(data=st.data())
async def test_generated_near_miss_objects_are_never_a_server_error(
    raw_http: httpx.AsyncClient, identity_app: FastAPI, world: World, data: st.DataObject
) -> None:
    probe = Probe(raw_http)
    for op in (op for op in _operations(identity_app) if op.json_body):
        body = data.draw(near_miss(op), label=f"{op.method} {op.path}")
        await probe.expect_json(
            None, op.method, world.url(op), body, allow_success=True, headers=world.owner.headers
        )

    probe.assert_clean(at_least=10)


token_params = st.sampled_from(
    ["grant_type", "username", "password", "refresh_token", "client_id", "client_secret", "scope"]
)


@JUNK_SETTINGS
@given(form=st.dictionaries(token_params | any_text, any_text | plausible, max_size=5))
async def test_generated_junk_forms_at_the_token_endpoint_are_oauth_errors(
    raw_http: httpx.AsyncClient, form: dict[str, str]
) -> None:
    content = "&".join(
        f"{quote(k, safe='', errors='surrogatepass')}={quote(v, safe='', errors='surrogatepass')}"
        for k, v in form.items()
    ).encode()
    response = await raw_http.post("/oauth/token", content=content, headers=FORM)

    assert response.status_code == 200 or oauth_error_failure(response) is None, response.text


latin1_junk = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)


@JUNK_SETTINGS
@given(scheme=st.sampled_from(["Basic", "basic", "Bearer", "bearer", "Digest"]), credentials=latin1_junk)
async def test_generated_junk_authorization_headers_are_never_a_server_error(
    raw_http: httpx.AsyncClient, scheme: str, credentials: str
) -> None:
    probe = Probe(raw_http)
    header = f"{scheme} {credentials}".encode("latin-1")
    form = {"grant_type": "client_credentials"}

    token = await raw_http.post("/oauth/token", data=form, headers={"Authorization": header})
    await probe.expect(401, "GET", "/v1/users/me", headers={"Authorization": header})

    assert oauth_error_failure(token, 401, "invalid_client") is None
    probe.assert_clean(at_least=1)
