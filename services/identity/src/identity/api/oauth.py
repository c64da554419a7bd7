"""Routes: the OAuth2 token endpoint, token revocation, JWKS and OpenID discovery."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from common.auth import ACCESS_TOKEN_ALGORITHM
from identity.api.deps import ClientAddress, ServiceDep
from identity.api.schemas import TokenResponse
from identity.service import OAuthError, TokenGrant

router = APIRouter(tags=["oauth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPES = ("password", "refresh_token", "client_credentials")


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            client_id, _, secret = decoded.partition(":")
        except (binascii.Error, ValueError) as exc:  # not base64, not ASCII, or not UTF-8 inside
            raise OAuthError("invalid_client", "malformed Basic credentials", status=401) from exc
        return unquote(client_id), unquote(secret)
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not secret:
        raise OAuthError("invalid_client", "client_id and client_secret are required", status=401)
    return client_id, secret


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise OAuthError("invalid_request", f"the {name!r} parameter is required")
    if len(value) > 1024:
        raise OAuthError("invalid_request", f"the {name!r} parameter is too long")
    return value


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise OAuthError("invalid_request", "send the parameters as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > 16_384:
        raise OAuthError("invalid_request", "the request body is too large")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "the request body is not valid form data") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"the {name!r} parameter was given more than once")
        form[name] = value
    return form


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    summary="OAuth2 token endpoint: password, refresh_token and client_credentials grants",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": list(GRANT_TYPES)},
                            "username": {"type": "string"},
                            "password": {"type": "string"},
                            "refresh_token": {"type": "string"},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def token(request: Request, service: ServiceDep, address: ClientAddress) -> JSONResponse:
    form = await _form(request)
    grant_type = _required(form, "grant_type")
    grant: TokenGrant
    if grant_type == "password":
        grant = await service.password_grant(
            username=_required(form, "username"),
            password=_required(form, "password"),
            scope=form.get("scope"),
            source=address,
        )
    elif grant_type == "refresh_token":
        grant = await service.refresh_grant(refresh_token=_required(form, "refresh_token"))
    elif grant_type == "client_credentials":
        client_id, secret = _client_credentials(request, form)
        grant = await service.client_credentials_grant(
            client_id=client_id, client_secret=secret, scope=form.get("scope")
        )
    else:
        raise OAuthError("unsupported_grant_type", f"grant_type must be one of {', '.join(GRANT_TYPES)}")
    body = TokenResponse(**grant.__dict__).model_dump(exclude_none=True)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/oauth/revoke", summary="Revoke a refresh token and its whole family (RFC 7009)")
async def revoke(request: Request, service: ServiceDep) -> Response:
    form = await _form(request)
    await service.revoke_refresh_token(token=_required(form, "token"))
    return Response(status_code=200, headers=NO_STORE)


@router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks(service: ServiceDep) -> JSONResponse:
    return JSONResponse(await service.keys.jwks(), headers={"Cache-Control": "public, max-age=60"})


@router.get("/.well-known/openid-configuration", summary="Discovery document")
async def openid_configuration(service: ServiceDep) -> dict[str, Any]:
    issuer = service.settings.token_issuer
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": [ACCESS_TOKEN_ALGORITHM],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid", "profile", *sorted(service.client_scopes())],
    }
