"""What keeps the pages safe: signed form tokens against cross-site posts, and the response headers.

A form carries a token signed with a key derived from the service's supporter secret, bound to the
form's purpose and target (a link's ref, a confirmation or management token) and to when it was
issued (it expires). The form post must also come from this site when the browser says where it comes
from (`Origin` / `Sec-Fetch-Site`). No cookie is needed, so the forms work inside an iframe on an
organization's site, where browsers refuse third-party cookies.

Every page is sent with a strict Content-Security-Policy: scripts and styles from this origin's files
only (no inline script), images from this origin and the organization's logo origin, forms posting
here only, and `frame-ancestors` 'none' (or, for the iframe variant, the organization's allowed
origins).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit

from starlette.requests import Request

TOKEN_SECONDS = 4 * 3600


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, b"campaigns-pages-form-token", hashlib.sha256).digest()


def _mac(secret: bytes, purpose: str, target: str, issued: int, nonce: str) -> str:
    message = f"{purpose}|{target}|{issued}|{nonce}".encode()
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def form_token(secret: bytes, purpose: str, target: str, *, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    nonce = secrets.token_urlsafe(9)
    return f"{issued}.{nonce}.{_mac(secret, purpose, target, issued, nonce)}"


def valid_form_token(
    secret: bytes, token: str | None, purpose: str, target: str, *, now: float | None = None
) -> bool:
    if not token or len(token) > 200:
        return False
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    issued, nonce, mac = int(parts[0]), parts[1], parts[2]
    current = now if now is not None else time.time()
    if not (issued - 60 <= current <= issued + TOKEN_SECONDS):
        return False
    return hmac.compare_digest(mac, _mac(secret, purpose, target, issued, nonce))


def same_site_post(request: Request, public_origin: str | None = None) -> bool:
    """False when the browser says the post comes from another site (a forged cross-site form).

    `Origin` must be this host, or the service's public origin (behind a proxy that rewrites `Host`)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        netloc = urlsplit(origin).netloc
        return netloc == request.headers.get("host", "") or (
            public_origin is not None and origin == public_origin
        )
    return True


def origin_of(url: str | None) -> str | None:
    """The `scheme://host[:port]` of an https (or development http) URL, for a CSP source list."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(*, frame_ancestors: list[str] | None = None, images: tuple[str, ...] = ()) -> str:
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    image_sources = " ".join(["'self'", "data:", *images])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {image_sources}; connect-src 'self'; form-action 'self'; "
        f"base-uri 'none'; frame-ancestors {ancestors}"
    )


def page_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
