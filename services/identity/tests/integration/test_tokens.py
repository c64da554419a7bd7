"""OAuth2 grants: password, refresh rotation with reuse detection, client credentials, lockout, JWKS."""

from __future__ import annotations

import asyncio
import base64
import json

import jwt as pyjwt
from identity_api import ISSUER, IdentityApi, assert_oauth_error, assert_problem, bearer


async def _refresh(api: IdentityApi, token: str) -> tuple[int, dict[str, object]]:
    response = await api.http.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )
    return response.status_code, response.json()


async def test_refresh_rotates_the_refresh_token(api: IdentityApi) -> None:
    person = await api.person()

    status, body = await _refresh(api, person.refresh_token)

    assert status == 200
    assert body["refresh_token"] != person.refresh_token
    assert body["token_type"] == "Bearer"
    assert isinstance(body["access_token"], str)


async def test_reused_refresh_token_revokes_the_whole_family(api: IdentityApi) -> None:
    person = await api.person()
    _, rotated = await _refresh(api, person.refresh_token)

    reuse_status, reuse = await _refresh(api, person.refresh_token)
    successor_status, _ = await _refresh(api, str(rotated["refresh_token"]))

    assert reuse_status == 400
    assert reuse["error"] == "invalid_grant"
    assert successor_status == 400  # the legitimate successor died with the family


async def test_concurrent_refreshes_with_one_token_yield_one_winner(api: IdentityApi) -> None:
    person = await api.person()

    results = await asyncio.gather(*(_refresh(api, person.refresh_token) for _ in range(5)))

    assert sorted(status for status, _ in results) == [200, 400, 400, 400, 400]


async def test_refresh_picks_up_a_new_role(api: IdentityApi) -> None:
    person = await api.verify_email(await api.person())
    org = (
        await api.http.post(
            "/v1/organizations",
            json={"slug": f"o-{person.id[:8]}", "name": "N", "kind": "other", "country": "IT"},
            headers=person.headers,
        )
    ).json()

    _, body = await _refresh(api, person.refresh_token)

    claims = pyjwt.decode(str(body["access_token"]), options={"verify_signature": False})
    assert claims["orgs"] == {org["id"]: "owner"}


async def test_revoked_refresh_token_no_longer_works(api: IdentityApi) -> None:
    person = await api.person()

    revoked = await api.http.post("/oauth/revoke", data={"token": person.refresh_token})
    status, _ = await _refresh(api, person.refresh_token)

    assert revoked.status_code == 200
    assert status == 400


async def test_wrong_password_and_unknown_user_look_the_same(api: IdentityApi) -> None:
    person = await api.person()

    wrong = await api.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": person.email, "password": "nope nope nope"},
    )
    unknown = await api.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "ghost@example.org", "password": "nope nope"},
    )

    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json()["error_description"] == unknown.json()["error_description"]
    assert wrong.json()["error"] == "invalid_grant"


async def test_repeated_failed_logins_lock_the_account_with_retry_after(api: IdentityApi) -> None:
    person = await api.person()
    form = {"grant_type": "password", "username": person.email, "password": "wrong wrong wrong"}
    for _ in range(5):
        assert (await api.http.post("/oauth/token", data=form)).status_code == 400

    locked = await api.http.post("/oauth/token", data={**form, "password": person.password})

    assert_oauth_error(locked, 429, "invalid_grant")


async def test_changing_password_ends_other_sessions(api: IdentityApi) -> None:
    person = await api.person()

    changed = await api.http.post(
        "/v1/users/me/password",
        json={"current_password": person.password, "new_password": "a brand new passphrase 7"},
        headers=person.headers,
    )
    status, _ = await _refresh(api, person.refresh_token)

    assert changed.status_code == 204
    assert status == 400
    assert (await api.login(person.email, "a brand new passphrase 7"))["access_token"]


async def _client(api: IdentityApi, scopes: list[str]) -> tuple[str, dict[str, object], object]:
    owner = await api.person("owner")
    org = await api.organization(owner)
    created = await api.http.post(
        f"/v1/organizations/{org['id']}/clients",
        json={"name": "CRM sync", "scopes": scopes},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    return org["id"], created.json(), owner


async def test_client_credentials_grant_issues_a_scoped_org_token(api: IdentityApi) -> None:
    org_id, client, _ = await _client(api, ["campaigns:read", "webhooks:manage"])
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()

    response = await api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "campaigns:read"},
        headers={"Authorization": f"Basic {basic}"},
    )

    assert response.status_code == 200, response.text
    claims = pyjwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["org"] == org_id
    assert claims["scope"] == "campaigns:read"
    assert "refresh_token" not in response.json()


async def test_client_secret_is_shown_once_and_stored_hashed(api: IdentityApi, identity_app) -> None:  # type: ignore[no-untyped-def]
    org_id, client, owner = await _client(api, ["campaigns:read"])

    listed = await api.http.get(f"/v1/organizations/{org_id}/clients", headers=owner.headers)  # type: ignore[attr-defined]
    stored = await identity_app.state.runtime.db["api_clients"].find_one({"_id": client["client_id"]})

    assert "client_secret" not in listed.json()[0]
    assert client["client_secret"] not in json.dumps(stored, default=str)
    assert stored["secret_hash"].startswith("$argon2id$")


async def test_client_asking_beyond_its_scopes_is_refused(api: IdentityApi) -> None:
    _, client, _ = await _client(api, ["campaigns:read"])

    response = await api.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "scope": "campaigns:write",
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_revoked_client_gets_no_token(api: IdentityApi) -> None:
    org_id, client, owner = await _client(api, ["campaigns:read"])
    await api.http.delete(f"/v1/organizations/{org_id}/clients/{client['client_id']}", headers=owner.headers)  # type: ignore[attr-defined]

    response = await api.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_access_token_verifies_against_jwks_with_a_standard_library(api: IdentityApi) -> None:
    person = await api.person()
    jwks = (await api.http.get("/.well-known/jwks.json")).json()
    kid = pyjwt.get_unverified_header(person.token)["kid"]
    key = pyjwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))

    claims = pyjwt.decode(
        person.token, key=key, algorithms=["ES256"], audience="coalition-platform", issuer=ISSUER
    )

    assert claims["sub"] == person.id
    assert claims["exp"] - claims["iat"] == 600


async def test_key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    api: IdentityApi,
) -> None:
    admin = await api.admin()
    person = await api.person()
    old_kid = pyjwt.get_unverified_header(person.token)["kid"]

    rotated = await api.http.post("/v1/admin/signing-keys/rotate", headers=admin.headers)
    fresh = await api.relogin(person)
    jwks_kids = {k["kid"] for k in (await api.http.get("/.well-known/jwks.json")).json()["keys"]}
    old_token_still_works = await api.http.get("/v1/users/me", headers=bearer(person.token))

    assert rotated.status_code == 200
    new_kid = rotated.json()["kid"]
    assert pyjwt.get_unverified_header(fresh.token)["kid"] == new_kid != old_kid
    assert {old_kid, new_kid} <= jwks_kids
    assert old_token_still_works.status_code == 200


async def test_only_platform_admins_rotate_keys(api: IdentityApi) -> None:
    person = await api.person()

    response = await api.http.post("/v1/admin/signing-keys/rotate", headers=person.headers)

    assert_problem(response, 403)
