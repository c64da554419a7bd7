"""Supporters: who they are for deduplication, their consents, their display names, their tokens.

A supporter is a person who took action on one campaign; there is no account. The same person is the
same supporter of a campaign when the normalised e-mail address matches; the address is looked up by a
keyed hash so the index holds no address, and the hash is dropped on erasure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from enum import StrEnum
from typing import Any
from uuid import UUID

from common.errors import Unauthenticated


class ConsentPurpose(StrEnum):
    CONTACT_BY_ORGANIZATION = "contact_by_organization"
    SHARE_WITH_COALITION = "share_with_coalition"
    PUBLISH_STORY = "publish_story"
    REPLY_TO = "reply_to"  # letters: the decision-maker may answer the supporter directly
    PETITION_DELIVERY = "petition_delivery"  # petitions: name and place appear in the delivery


DEFAULT_CONSENT_TEXTS: dict[ConsentPurpose, str] = {
    ConsentPurpose.CONTACT_BY_ORGANIZATION: (
        "I agree that the organization that shared this campaign with me may contact me by e-mail "
        "about this campaign and its related advocacy. I can withdraw this at any time."
    ),
    ConsentPurpose.SHARE_WITH_COALITION: (
        "I agree that my name and e-mail address may be shared with the other member organizations "
        "of the coalition running this campaign, so that they may contact me about it."
    ),
    ConsentPurpose.PUBLISH_STORY: (
        "I agree that my story may be published on this campaign's page, with my name shown as I chose "
        "and without my contact details."
    ),
    ConsentPurpose.REPLY_TO: (
        "I agree that my letter is sent with my e-mail address as its reply address, so that the "
        "decision-makers it is addressed to may answer me directly."
    ),
    ConsentPurpose.PETITION_DELIVERY: (
        "I agree that my name and my town or postal code appear on the list of signatories handed to "
        "the decision-maker this petition is addressed to. My e-mail address is never included."
    ),
}


def consent_version(text: str) -> str:
    """A consent text's version: a digest of its exact wording, so any change is a new version."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class NameForm(StrEnum):
    FULL = "full"
    FIRST_NAME = "first_name"
    ANONYMOUS = "anonymous"


def display_name(form: NameForm, first_name: str | None, last_name: str | None) -> str:
    if form is NameForm.FULL and first_name:
        return f"{first_name} {last_name}".strip() if last_name else first_name
    if form in (NameForm.FULL, NameForm.FIRST_NAME) and first_name:
        return first_name
    return "Anonymous"


def normalise_email(email: str) -> str:
    """The form under which two spellings of one address are the same supporter."""
    local, _, domain = unicodedata.normalize("NFKC", email).strip().rpartition("@")
    return f"{local.lower()}@{domain.lower().rstrip('.')}"


class SupporterKeys:
    """Keyed hashes of e-mail addresses and the supporter's management token, from one secret."""

    def __init__(self, secret: bytes) -> None:
        self._email_key = hmac.new(secret, b"campaigns/email-lookup", hashlib.sha256).digest()
        self._token_key = hmac.new(secret, b"campaigns/supporter-token", hashlib.sha256).digest()

    def email_key(self, campaign_id: UUID, email: str) -> str:
        message = f"{campaign_id}:{normalise_email(email)}".encode()
        return hmac.new(self._email_key, message, hashlib.sha256).hexdigest()

    def address_key(self, org_id: UUID, email: str) -> str:
        """The keyed hash under which an organization knows an address was confirmed (double opt-in)."""
        message = f"confirmed:{org_id}:{normalise_email(email)}".encode()
        return hmac.new(self._email_key, message, hashlib.sha256).hexdigest()

    def fingerprint(self, request: Any) -> str:
        """A keyed digest of a request, to recognise an idempotent retry without keeping its contents."""
        canonical = json.dumps(request, sort_keys=True, default=str).encode()
        return hmac.new(self._email_key, b"request:" + canonical, hashlib.sha256).hexdigest()

    def token(self, supporter_id: UUID) -> str:
        """`<supporter id>.<signature>`: sent to the supporter to withdraw consent or erase their data."""
        mac = hmac.new(self._token_key, supporter_id.bytes, hashlib.sha256).digest()
        return f"{supporter_id.hex}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def supporter_of(self, token: str) -> UUID:
        """The supporter a token was issued to; 401 when it was not issued here."""
        ident, _, _ = token.partition(".")
        try:
            supporter_id = UUID(hex=ident)
        except ValueError as exc:
            raise Unauthenticated("the supporter token is not valid") from exc
        if not hmac.compare_digest(self.token(supporter_id), token):
            raise Unauthenticated("the supporter token is not valid")
        return supporter_id
