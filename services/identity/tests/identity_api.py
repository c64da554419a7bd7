"""Test helpers for the identity service: arranging people and organizations through the public API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from common.testing.infra import Infra
from identity.config import Settings

ADMIN_EMAIL = "platform-admin@example.org"
ADMIN_PASSWORD = "Correct-Admin-Horse-42"
PASSWORD = "a sensible passphrase 42"
ISSUER = "http://identity.test"


def identity_test_settings(infra: Infra, *, admin_email: str, admin_password: str) -> Settings:
    """Identity on the test servers, in its own database, with cheap hashing and a fast relay."""
    return Settings(
        environment="test",
        mongodb_url=infra.mongodb_url,
        mongodb_database=f"identity_test_{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        public_url=ISSUER,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        bootstrap_admin_email=admin_email,
        bootstrap_admin_password=SecretStr(admin_password),
        outbox_poll_interval_seconds=0.2,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Person:
    id: str
    email: str
    password: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


class IdentityApi:
    """Short-hands for arranging test situations through the public API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.http.post(
            "/oauth/token", data={"grant_type": "password", "username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def person(self, name: str = "user") -> Person:
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.org"
        response = await self.http.post(
            "/v1/users", json={"email": email, "password": PASSWORD, "display_name": name.title()}
        )
        assert response.status_code == 201, response.text
        tokens = await self.login(email)
        return Person(response.json()["id"], email, PASSWORD, tokens["access_token"], tokens["refresh_token"])

    async def relogin(self, person: Person) -> Person:
        tokens = await self.login(person.email, person.password)
        person.token, person.refresh_token = tokens["access_token"], tokens["refresh_token"]
        return person

    async def organization(self, owner: Person, **fields: Any) -> dict[str, Any]:
        body = {
            "slug": f"org-{uuid.uuid4().hex[:10]}",
            "name": "Rare Disease Alliance",
            "kind": "patient_association",
            "country": "DE",
            **fields,
        }
        await self.ensure_verified(owner)
        response = await self.http.post("/v1/organizations", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        await self.relogin(owner)
        return dict(response.json())

    async def verification_token(self, person: Person) -> str:
        """A fresh e-mail verification token (the API shows it in development and test only)."""
        response = await self.http.post("/v1/users/me/email-verification", headers=person.headers)
        assert response.status_code == 202, response.text
        return str(response.json()["token"])

    async def ensure_verified(self, person: Person) -> Person:
        """Verify the person's address unless it is verified already (say, the bootstrap admin's)."""
        response = await self.http.post("/v1/users/me/email-verification", headers=person.headers)
        if response.status_code == 409:
            return person
        assert response.status_code == 202, response.text
        confirmed = await self.http.post(
            "/v1/users/email-verification/confirm", json={"token": response.json()["token"]}
        )
        assert confirmed.status_code == 200, confirmed.text
        return person

    async def verify_email(self, person: Person) -> Person:
        token = await self.verification_token(person)
        confirmed = await self.http.post("/v1/users/email-verification/confirm", json={"token": token})
        assert confirmed.status_code == 200, confirmed.text
        return person

    async def add_member(
        self, org_id: str, admin: Person, role: str = "member", name: str = "member"
    ) -> Person:
        """A new user who verified their address and accepted an invitation to the organization."""
        person = await self.verify_email(await self.person(name))
        invited = await self.http.post(
            f"/v1/organizations/{org_id}/invitations",
            json={"email": person.email, "role": role},
            headers=admin.headers,
        )
        assert invited.status_code == 201, invited.text
        accepted = await self.http.post(
            "/v1/invitations/accept", json={"token": invited.json()["token"]}, headers=person.headers
        )
        assert accepted.status_code == 200, accepted.text
        return await self.relogin(person)

    async def admin(self) -> Person:
        tokens = await self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        me = await self.http.get("/v1/users/me", headers=bearer(tokens["access_token"]))
        return Person(
            me.json()["id"], ADMIN_EMAIL, ADMIN_PASSWORD, tokens["access_token"], tokens["refresh_token"]
        )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = dict(response.json())
    assert body["status"] == status
    assert body["title"]
    return body


OAUTH_ERROR_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)


def oauth_error_failure(
    response: httpx.Response, status: int | None = None, error: str | None = None
) -> str | None:
    """Why the response is not an RFC 6749 section 5.2 error (with `status` and `error`), or None when it is."""
    seen = f"{response.status_code} {response.headers.get('content-type')}: {response.text[:300]}"
    if status is not None and response.status_code != status:
        return f"expected {status}; {seen}"
    if response.status_code not in (400, 401, 429):
        return f"expected 400, 401 or 429; {seen}"
    if response.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return f"not application/json; {seen}"
    body = response.json()
    if not isinstance(body, dict) or body.get("error") not in OAUTH_ERROR_CODES:
        return f"no RFC 6749 error code; {seen}"
    if error is not None and body["error"] != error:
        return f"expected error {error}; {seen}"
    if not isinstance(body.get("error_description"), str) or not body["error_description"]:
        return f"no error_description; {seen}"
    if response.headers.get("cache-control") != "no-store":
        return f"may be cached; {seen}"
    challenge = response.headers.get("www-authenticate", "")
    if response.status_code == 401 and not challenge.startswith("Basic realm="):
        return f"401 without a Basic challenge; {seen}"
    if response.status_code == 429 and int(response.headers.get("retry-after", "0")) < 1:
        return f"429 without Retry-After; {seen}"
    return None


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    failure = oauth_error_failure(response, status, error)
    assert failure is None, failure
    return dict(response.json())
