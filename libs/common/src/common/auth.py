"""Access tokens for resource services: verified locally against the identity service's JWKS.

Access tokens are ES256-signed JWTs (RFC 9068 profile, `typ: at+jwt`). Only ES256 is accepted, so
`alg: none` and HMAC tokens "signed" with a public key are refused before any key is used. Keys are
cached; an unknown `kid` triggers one refresh (rate-limited) so a key rotation is picked up at once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Annotated, Any, Literal, Protocol
from uuid import UUID

import httpx
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from pydantic import BaseModel, ConfigDict, Field

from common.errors import Forbidden, Unauthenticated
from common.settings import AuthSettings

ACCESS_TOKEN_ALGORITHM = "ES256"  # noqa: S105 - an algorithm name
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type
OrgRole = Literal["owner", "admin", "organizer", "member"]
ROLE_RANK: dict[str, int] = {"member": 0, "organizer": 1, "admin": 2, "owner": 3}


class Principal(BaseModel):
    """Who is calling: a user (with org roles) or an organization's API client (with scopes)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    kind: Literal["user", "client"]
    org_roles: dict[UUID, OrgRole] = Field(default_factory=dict)
    client_org: UUID | None = None
    scopes: frozenset[str] = frozenset()
    platform_admin: bool = False
    token_id: str = ""
    issued_at: float = 0.0  # the token's `iat` (Unix seconds)

    @property
    def user_id(self) -> UUID | None:
        return UUID(self.subject) if self.kind == "user" else None

    def has_role(self, org_id: UUID, at_least: OrgRole) -> bool:
        role = self.org_roles.get(org_id)
        return role is not None and ROLE_RANK[role] >= ROLE_RANK[at_least]

    def require_scope(self, scope: str) -> None:
        if self.kind == "client" and scope not in self.scopes:
            raise Forbidden(f"the token lacks the scope {scope!r}", required_scope=scope)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        scopes = frozenset(str(claims.get("scope", "")).split())
        issued_at = float(claims.get("iat", 0))
        if "cid" in claims:
            return cls(
                subject=str(claims["sub"]),
                kind="client",
                client_org=UUID(str(claims["org"])),
                scopes=scopes,
                token_id=str(claims.get("jti", "")),
                issued_at=issued_at,
            )
        return cls(
            subject=str(claims["sub"]),
            kind="user",
            org_roles={UUID(k): v for k, v in dict(claims.get("orgs", {})).items()},
            scopes=scopes,
            platform_admin=bool(claims.get("padm", False)),
            token_id=str(claims.get("jti", "")),
            issued_at=issued_at,
        )


class PrincipalResolver(Protocol):
    """Narrows a verified token's principal to the current state (see `common.access`)."""

    async def resolve(self, principal: Principal) -> Principal: ...


class KeySource(Protocol):
    """Gives the verification key for a key id, refreshing its view once when the id is unknown."""

    async def key_for(self, kid: str) -> ECKey | None: ...


class JwksKeySource:
    """Keys fetched from a JWKS URL over HTTP, cached for `cache_seconds`."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: int = 300,
        min_refresh_interval: float = 10.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refresh_interval = min_refresh_interval
        self._http = http
        self._keys: dict[str, ECKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        client = self._http or httpx.AsyncClient(timeout=5.0)
        try:
            response = await client.get(self.url)
            response.raise_for_status()
            keyset = KeySet.import_key_set(response.json())
        finally:
            if self._http is None:
                await client.aclose()
        self._keys = {str(k.kid): k for k in keyset.keys if isinstance(k, ECKey) and k.kid}
        self._fetched_at = time.monotonic()

    async def key_for(self, kid: str) -> ECKey | None:
        age = time.monotonic() - self._fetched_at
        if kid in self._keys and age < self.cache_seconds:
            return self._keys[kid]
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = age >= self.cache_seconds
            if stale or (kid not in self._keys and age >= self.min_refresh_interval):
                try:
                    await self._refresh()
                except (httpx.HTTPError, ValueError, JoseError) as exc:
                    if not self._keys:
                        raise Unauthenticated("the token's signing keys cannot be fetched right now") from exc
        return self._keys.get(kid)


def _b64json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


class TokenVerifier:
    """Verifies signature, type, issuer, audience and lifetime of an access token."""

    def __init__(self, keys: KeySource, *, issuer: str, audience: str, leeway: int = 30) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    async def verify(self, token: str) -> Principal:
        claims = await self.verify_claims(token)
        try:
            return Principal.from_claims(claims)
        except (KeyError, ValueError, TypeError) as exc:
            raise Unauthenticated("the token's claims are malformed") from exc

    async def verify_claims(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthenticated("the token is not a signed JWT")
        try:
            header = _b64json(parts[0])
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unauthenticated("the token header is malformed") from exc
        if header.get("alg") != ACCESS_TOKEN_ALGORITHM:
            raise Unauthenticated(f"the token algorithm must be {ACCESS_TOKEN_ALGORITHM}")
        if str(header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYPE, "application/at+jwt"):
            raise Unauthenticated("the token is not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("the token has no key id")
        key = await self.keys.key_for(kid)
        if key is None:
            raise Unauthenticated("the token was signed with an unknown key")
        try:
            decoded = jwt.decode(token, key, algorithms=[ACCESS_TOKEN_ALGORITHM])
        except JoseError as exc:
            raise Unauthenticated("the token signature is invalid") from exc
        self._check_claims(decoded.claims)
        return decoded.claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = time.time()
        for name in ("iss", "sub", "aud", "exp", "iat"):
            if name not in claims:
                raise Unauthenticated(f"the token lacks the {name!r} claim")
        if claims["iss"] != self.issuer:
            raise Unauthenticated("the token was issued by someone else")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if self.audience not in audiences:
            raise Unauthenticated("the token is meant for another audience")
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
            nbf = float(claims.get("nbf", iat))
        except (TypeError, ValueError) as exc:
            raise Unauthenticated("the token's time claims are malformed") from exc
        if exp <= now - self.leeway:
            raise Unauthenticated("the token has expired")
        if nbf > now + self.leeway or iat > now + self.leeway:
            raise Unauthenticated("the token is not valid yet")


_bearer = HTTPBearer(auto_error=False, description="An access token from the identity service")


def verifier_for(settings: AuthSettings, keys: KeySource | None = None) -> TokenVerifier:
    """The token verifier of a resource service: identity's JWKS (or `keys`) and the expected claims."""
    return TokenVerifier(
        keys or JwksKeySource(settings.auth_jwks_url, cache_seconds=settings.auth_jwks_cache_seconds),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        leeway=settings.auth_leeway_seconds,
    )


async def optional_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal | None:
    if credentials is None:
        return None
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    # Resource services install their access projection here: the token proves who is calling, the
    # projection says what they may do now. Without one (the identity service), the token is taken as is.
    resolver: PrincipalResolver | None = getattr(request.app.state, "principal_resolver", None)
    return principal if resolver is None else await resolver.resolve(principal)


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthenticated("a bearer access token is required")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
