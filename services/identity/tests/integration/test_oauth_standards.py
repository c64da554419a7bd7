"""Standards the identity service claims: RFC 8414 metadata, RFC 9068 access tokens, RFC 6749/6750 errors."""

from __future__ import annotations

import base64

import httpx
import jwt as pyjwt
from identity_api import ISSUER, IdentityApi, assert_oauth_error, assert_problem, bearer

RFC_9068_CLAIMS = {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}


async def test_authorization_server_metadata_describes_what_exists(api: IdentityApi) -> None:
    response = await api.http.get("/.well-known/oauth-authorization-server")
    metadata = response.json()

    assert response.status_code == 200
    assert metadata["issuer"] == ISSUER
    assert metadata["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert metadata["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert metadata["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert metadata["grant_types_supported"] == ["password", "refresh_token", "client_credentials"]
    assert metadata["response_types_supported"] == []  # required by RFC 8414; no authorization endpoint
    assert "authorization_endpoint" not in metadata
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert "campaigns:read" in metadata["scopes_supported"]
    assert "openid" not in metadata["scopes_supported"]


async def test_every_endpoint_the_metadata_names_answers(api: IdentityApi) -> None:
    metadata = (await api.http.get("/.well-known/oauth-authorization-server")).json()

    jwks = await api.http.get(metadata["jwks_uri"].removeprefix(ISSUER))
    token = await api.http.post(metadata["token_endpoint"].removeprefix(ISSUER), data={"grant_type": "x"})

    assert jwks.status_code == 200
    assert jwks.json()["keys"]
    assert_oauth_error(token, 400, "unsupported_grant_type")


async def test_openid_connect_is_no_longer_claimed(api: IdentityApi) -> None:
    assert_problem(await api.http.get("/.well-known/openid-configuration"), 404)


async def test_user_access_tokens_carry_every_rfc_9068_claim(api: IdentityApi) -> None:
    person = await api.person()

    header = pyjwt.get_unverified_header(person.token)
    claims = pyjwt.decode(person.token, options={"verify_signature": False})

    assert header["typ"] == "at+jwt"
    assert set(claims) >= RFC_9068_CLAIMS
    assert claims["sub"] == person.id
    assert claims["client_id"] == "coalition-platform"
    assert claims["scope"] == "profile"
    assert "cid" not in claims  # that marks API clients' tokens for the resource services


async def test_client_access_tokens_carry_every_rfc_9068_claim(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    client = (
        await api.http.post(
            f"/v1/organizations/{org['id']}/clients",
            json={"name": "CRM sync", "scopes": ["campaigns:read"]},
            headers=owner.headers,
        )
    ).json()
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()

    granted = await api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    claims = pyjwt.decode(granted.json()["access_token"], options={"verify_signature": False})

    assert set(claims) >= RFC_9068_CLAIMS
    assert claims["client_id"] == claims["sub"] == client["client_id"]
    assert claims["scope"] == "campaigns:read"


async def test_a_refreshed_token_keeps_its_client_and_may_not_widen_its_scope(api: IdentityApi) -> None:
    person = await api.person()

    widened = await api.http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": person.refresh_token,
            "scope": "campaigns:read",
        },
    )
    refreshed = await api.http.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": person.refresh_token}
    )

    assert_oauth_error(widened, 400, "invalid_scope")
    assert refreshed.status_code == 200  # the refused request did not spend the refresh token
    claims = pyjwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == "coalition-platform"


async def test_the_platform_client_may_name_itself_in_the_form_or_in_basic(api: IdentityApi) -> None:
    person = await api.person()
    login = {"grant_type": "password", "username": person.email, "password": person.password}
    empty_basic = base64.b64encode(b"coalition-platform:").decode()

    in_form = await api.http.post("/oauth/token", data={**login, "client_id": "coalition-platform"})
    in_basic = await api.http.post(
        "/oauth/token", data=login, headers={"Authorization": f"Basic {empty_basic}"}
    )

    assert in_form.status_code == in_basic.status_code == 200, (in_form.text, in_basic.text)


async def test_client_authentication_failure_challenges_with_basic(api: IdentityApi) -> None:
    basic = base64.b64encode(b"cli_nobody:cs_wrong").decode()

    with_basic = await api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    with_form = await api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "cli_nobody", "client_secret": "cs_wrong"},
    )

    for response in (with_basic, with_form):
        assert_oauth_error(response, 401, "invalid_client")
        assert response.headers["www-authenticate"] == f'Basic realm="{ISSUER}", charset="UTF-8"'


async def test_bad_access_tokens_get_a_bearer_invalid_token_challenge(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/users/me", headers=bearer("not-a-token"))

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
