"""Routes: the OAuth2 token endpoint, token revocation, JWKS and RFC 8414 authorization server metadata."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from identity.api.deps import ClientAddress, ServiceDep
from identity.api.schemas import AuthorizationServerMetadata, OAuthErrorBody, TokenResponse
from identity.domain.oauth import ClientAuthMethod, ClientCredentials, OAuthError, OAuthErrorCode
from identity.service import TokenGrant

router = APIRouter(tags=["oauth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPES = ("password", "refresh_token", "client_credentials")
MAX_PARAMETER_LENGTH = 1024
OAUTH_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": OAuthErrorBody, "description": "RFC 6749 error: invalid_request, invalid_grant, ..."},
    401: {"model": OAuthErrorBody, "description": "invalid_client, with a WWW-Authenticate challenge"},
    429: {"model": OAuthErrorBody, "description": "Too many failed sign-ins; see Retry-After"},
}


def oauth_error_response(request: Request, exc: Exception) -> JSONResponse:
    """RFC 6749 section 5.2: `application/json` with `error` and `error_description`."""
    assert isinstance(exc, OAuthError)
    headers = {**NO_STORE, **exc.headers}
    if exc.status == 401:
        # RFC 6749 asks for the scheme the client used; Basic is the only one that carries a secret.
        realm = request.app.state.settings.token_issuer
        headers["WWW-Authenticate"] = f'Basic realm="{realm}", charset="UTF-8"'
    body = OAuthErrorBody(error=exc.error, error_description=exc.detail)
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=headers)


def _invalid_request(detail: str) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_REQUEST, detail)


def _client_credentials(request: Request, form: dict[str, str]) -> ClientCredentials | None:
    """Who the client says it is: HTTP Basic, or client_id (and client_secret) in the form; None if neither."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        if "client_secret" in form:
            raise _invalid_request("use one way of client authentication, not Basic and the form together")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, ValueError) as exc:  # not base64, not ASCII, or not UTF-8 inside
            raise OAuthError(OAuthErrorCode.INVALID_CLIENT, "malformed Basic credentials") from exc
        client_id, separator, secret = decoded.partition(":")
        if not separator or not client_id:
            raise OAuthError(OAuthErrorCode.INVALID_CLIENT, "malformed Basic credentials")
        if "client_id" in form and form["client_id"] != unquote(client_id):
            raise _invalid_request("client_id in the form differs from the Basic credentials")
        # An empty password is how some libraries send a public client's id in Basic.
        return ClientCredentials(unquote(client_id), unquote(secret) or None, ClientAuthMethod.BASIC)
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if form_secret is not None and not form_id:
        raise OAuthError(OAuthErrorCode.INVALID_CLIENT, "client_secret was sent without a client_id")
    if not form_id:
        return None
    if len(form_id) > MAX_PARAMETER_LENGTH or len(form_secret or "") > MAX_PARAMETER_LENGTH:
        raise OAuthError(OAuthErrorCode.INVALID_CLIENT, "the client credentials are too long")
    if not form_secret:
        return ClientCredentials(form_id, None, ClientAuthMethod.NONE)
    return ClientCredentials(form_id, form_secret, ClientAuthMethod.POST)


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise _invalid_request(f"the {name!r} parameter is required")
    if len(value) > MAX_PARAMETER_LENGTH:
        raise _invalid_request(f"the {name!r} parameter is too long")
    return value


def _optional(form: dict[str, str], name: str) -> str | None:
    value = form.get(name)
    if value is not None and len(value) > MAX_PARAMETER_LENGTH:
        raise _invalid_request(f"the {name!r} parameter is too long")
    return value


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise _invalid_request("send the parameters as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > 16_384:
        raise _invalid_request("the request body is too large")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid_request("the request body is not valid form data") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise _invalid_request(f"the {name!r} parameter was given more than once")
        form[name] = value
    return form


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    summary="OAuth2 token endpoint: password, refresh_token and client_credentials grants",
    description=(
        "Errors follow RFC 6749 section 5.2 (`application/json` with `error` and `error_description`): "
        "400, or 401 with `WWW-Authenticate: Basic` when client authentication fails, or 429 with "
        "`Retry-After` after too many failed sign-ins from one address to one account."
    ),
    responses=OAUTH_ERRORS,
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
    if grant_type not in GRANT_TYPES:
        raise OAuthError(
            OAuthErrorCode.UNSUPPORTED_GRANT_TYPE, f"grant_type must be one of {', '.join(GRANT_TYPES)}"
        )
    client = _client_credentials(request, form)
    scope = _optional(form, "scope")
    grant: TokenGrant
    if grant_type == "password":
        grant = await service.password_grant(
            username=_required(form, "username"),
            password=_required(form, "password"),
            scope=scope,
            source=address,
            client=client,
        )
    elif grant_type == "refresh_token":
        grant = await service.refresh_grant(
            refresh_token=_required(form, "refresh_token"), scope=scope, client=client
        )
    else:
        grant = await service.client_credentials_grant(client=client, scope=scope)
    body = TokenResponse(**grant.__dict__).model_dump(exclude_none=True)
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    "/oauth/revoke",
    summary="Revoke a refresh token and its whole family (RFC 7009)",
    responses={400: OAUTH_ERRORS[400]},
)
async def revoke(request: Request, service: ServiceDep) -> Response:
    form = await _form(request)
    await service.revoke_refresh_token(token=_required(form, "token"))
    return Response(status_code=200, headers=NO_STORE)


@router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks(service: ServiceDep) -> JSONResponse:
    return JSONResponse(await service.keys.jwks(), headers={"Cache-Control": "public, max-age=60"})


@router.get(
    "/.well-known/oauth-authorization-server",
    response_model=AuthorizationServerMetadata,
    response_model_exclude_none=True,
    summary="OAuth 2.0 authorization server metadata (RFC 8414)",
)
async def authorization_server_metadata(
    service: ServiceDep, response: Response
) -> AuthorizationServerMetadata:
    issuer = service.settings.token_issuer
    response.headers["Cache-Control"] = "public, max-age=3600"
    return AuthorizationServerMetadata(
        issuer=issuer,
        token_endpoint=f"{issuer}/oauth/token",
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        revocation_endpoint=f"{issuer}/oauth/revoke",
        scopes_supported=service.scopes_supported(),
        response_types_supported=[],
        grant_types_supported=list(GRANT_TYPES),
        token_endpoint_auth_methods_supported=[m.value for m in ClientAuthMethod],
        revocation_endpoint_auth_methods_supported=[ClientAuthMethod.NONE.value],
    )
