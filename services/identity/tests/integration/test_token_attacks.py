"""A resource service verifies tokens against identity's JWKS and refuses every forged or stale token."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from identity_api import ISSUER, IdentityApi, assert_problem, bearer
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from common.auth import CurrentPrincipal, JwksKeySource, TokenVerifier
from common.errors import install_problem_handlers


@pytest.fixture(scope="module")
async def resource(identity_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A stand-in resource service: its only route echoes the verified principal."""
    jwks_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=identity_app), base_url=ISSUER)
    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = TokenVerifier(
        JwksKeySource(f"{ISSUER}/.well-known/jwks.json", http=jwks_http, min_refresh_interval=0),
        issuer=ISSUER,
        audience="coalition-platform",
        leeway=5,
    )

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"subject": principal.subject, "orgs": {str(k): v for k, v in principal.org_roles.items()}}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://resource"
    ) as client:
        yield client
    await jwks_http.aclose()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "coalition-platform",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        "orgs": {},
        "scope": "profile",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def _signed(identity_app: FastAPI, **overrides: Any) -> str:
    token: str = await identity_app.state.identity.keys.sign(_claims(**overrides))
    return token


async def test_a_real_token_is_accepted_with_its_org_roles(
    resource: httpx.AsyncClient, api: IdentityApi
) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)

    response = await resource.get("/whoami", headers=owner.headers)

    assert response.status_code == 200
    assert response.json() == {"subject": owner.id, "orgs": {org["id"]: "owner"}}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        # Times are taken when the test runs (a parameter computed at collection would be stale by then).
        (lambda now: {"exp": now - 120, "iat": now - 900, "nbf": now - 900}, "expired"),
        (lambda now: {"nbf": now + 600}, "not yet valid"),
        (lambda now: {"iat": now + 600, "nbf": None}, "issued in the future"),
        (lambda now: {"iss": "https://evil.example"}, "wrong issuer"),
        (lambda now: {"aud": "another-platform"}, "wrong audience"),
        (lambda now: {"exp": None}, "no expiry"),
        (lambda now: {"exp": "tomorrow"}, "malformed expiry"),
    ],
)
async def test_properly_signed_but_invalid_claims_are_refused(
    resource: httpx.AsyncClient,
    identity_app: FastAPI,
    overrides: Callable[[int], dict[str, Any]],
    reason: str,
) -> None:
    token = await _signed(identity_app, **overrides(int(time.time())))

    response = await resource.get("/whoami", headers=bearer(token))

    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_alg_none_is_refused(resource: httpx.AsyncClient, identity_app: FastAPI) -> None:
    real = await _signed(identity_app)
    kid = json.loads(base64.urlsafe_b64decode(real.split(".")[0] + "=="))["kid"]
    token = f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': kid})}.{_b64(_claims())}."

    assert_problem(await resource.get("/whoami", headers=bearer(token)), 401)


async def test_hs256_signed_with_the_public_key_is_refused(
    resource: httpx.AsyncClient, api: IdentityApi
) -> None:
    jwks = (await api.http.get("/.well-known/jwks.json")).json()
    public = jwks["keys"][0]
    secret = OctKey.import_key(json.dumps(public).encode())
    header = {"alg": "HS256", "typ": "at+jwt", "kid": public["kid"]}
    token = jwt.encode(header, _claims(), secret, algorithms=["HS256"])

    assert_problem(await resource.get("/whoami", headers=bearer(token)), 401)


async def test_unknown_kid_is_refused(resource: httpx.AsyncClient) -> None:
    attacker_key = ECKey.generate_key("P-256", private=True)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "attacker-key"}
    token = jwt.encode(header, _claims(), attacker_key, algorithms=["ES256"])

    assert_problem(await resource.get("/whoami", headers=bearer(token)), 401)


async def test_own_key_claiming_a_real_kid_is_refused(resource: httpx.AsyncClient, api: IdentityApi) -> None:
    kid = (await api.http.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]
    attacker_key = ECKey.generate_key("P-256", private=True)
    token = jwt.encode(
        {"alg": "ES256", "typ": "at+jwt", "kid": kid}, _claims(), attacker_key, algorithms=["ES256"]
    )

    assert_problem(await resource.get("/whoami", headers=bearer(token)), 401)


async def test_tampered_payload_is_refused(resource: httpx.AsyncClient, api: IdentityApi) -> None:
    person = await api.person()
    header, _, signature = person.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(person.token.split(".")[1] + "=="))
    claims["orgs"] = {str(uuid.uuid4()): "owner"}
    claims["padm"] = True
    forged = f"{header}.{_b64(claims)}.{signature}"

    assert_problem(await resource.get("/whoami", headers=bearer(forged)), 401)


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "....", "x" * 5000])
async def test_garbage_tokens_are_refused(resource: httpx.AsyncClient, token: str) -> None:
    assert_problem(await resource.get("/whoami", headers={"Authorization": f"Bearer {token}"}), 401)


async def test_missing_token_is_refused(resource: httpx.AsyncClient) -> None:
    assert_problem(await resource.get("/whoami"), 401)


async def test_refresh_token_is_not_an_access_token(resource: httpx.AsyncClient, api: IdentityApi) -> None:
    person = await api.person()

    assert_problem(await resource.get("/whoami", headers=bearer(person.refresh_token)), 401)


async def test_key_rotation_is_picked_up_by_resource_services(
    resource: httpx.AsyncClient, api: IdentityApi
) -> None:
    admin = await api.admin()
    await resource.get("/whoami", headers=admin.headers)  # warms the resource service's key cache
    await api.http.post("/v1/admin/signing-keys/rotate", headers=admin.headers)
    fresh = await api.relogin(admin)

    response = await resource.get("/whoami", headers=fresh.headers)

    assert response.status_code == 200
