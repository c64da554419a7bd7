"""OAuth 2.0 at the token endpoint: its errors (RFC 6749 section 5.2) and the clients that ask for tokens."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from common.errors import DomainError


class OAuthErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_SCOPE = "invalid_scope"


class ClientAuthMethod(StrEnum):
    """How a client identified itself (RFC 8414's token_endpoint_auth_methods_supported names)."""

    BASIC = "client_secret_basic"
    POST = "client_secret_post"
    NONE = "none"  # a public client: only its client_id


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    secret: str | None
    method: ClientAuthMethod


class OAuthError(DomainError):
    """A refused token or revocation request; answered as RFC 6749 JSON, not as a problem document.

    400 for every error except a failed client authentication (401, with a WWW-Authenticate challenge)
    and a throttled sign-in (429, with Retry-After).
    """

    status, code, title = 400, "oauth-error", "Token request refused"

    def __init__(
        self, error: OAuthErrorCode, detail: str, *, retry_after: int | None = None, **extensions: Any
    ) -> None:
        super().__init__(detail, error=error.value, error_description=detail, **extensions)
        self.error = error
        if error is OAuthErrorCode.INVALID_CLIENT:
            self.status = 401
        if retry_after is not None:
            self.status = 429
            self.headers["Retry-After"] = str(max(1, retry_after))
