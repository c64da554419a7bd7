"""Tokens of links that one service issues and another mails, derived so they never travel on Kafka.

The issuing service (identity for e-mail verification, campaigns for a supporter's confirmation and
own pages) and the mailing service (notifications) share a secret. A link's token
is an HMAC-SHA256 of the purpose and the id of what it is for (an e-mail verification), under that
secret: the event carries only the id, the mailer derives the token from it, and the issuer keeps only
the token's digest. Whoever knows the secret and an id can make the token, so the secret is kept like
a signing key (required outside development; the development default below is public).

See docs/decisions/0010-identity-standards.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

EMAIL_VERIFICATION = "email-verification"
ACTION_CONFIRMATION = "action-confirmation"  # a supporter confirms a pending action (double opt-in)
SUPPORTER_PAGES = "supporter-pages"  # a supporter's own pages: what is held, consents, erasure
MEETING_REPORT = "meeting-report"  # an advocacy-day attendee's report-back link (campaigns)

# The prefix each purpose's tokens carry (a reader can tell which kind of token they hold).
PREFIXES: dict[str, str] = {
    EMAIL_VERIFICATION: "ev",
    ACTION_CONFIRMATION: "ac",
    SUPPORTER_PAGES: "sp",
    MEETING_REPORT: "mr",
}


def token_digest(token: str) -> str:
    """What the issuer keeps of a token to recognise it (SHA-256, hex): the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


# Development and tests only, where every service falls back to it (so they agree); never elsewhere.
DEVELOPMENT_LINK_SECRET = "development-only-link-signing-secret"  # noqa: S105 - public on purpose


def derive_link_token(secret: str | bytes, purpose: str, item_id: UUID) -> str:
    """`<prefix>_` + base64url (unpadded) of HMAC-SHA256(secret, `<purpose>:` + the id's 16 bytes)."""
    prefix = PREFIXES.get(purpose)
    if prefix is None:
        raise ValueError(f"no link tokens for the purpose {purpose!r}")
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError("a link signing secret is needed to derive link tokens")
    mac = hmac.new(key, f"{purpose}:".encode() + item_id.bytes, hashlib.sha256).digest()
    return f"{prefix}_{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
