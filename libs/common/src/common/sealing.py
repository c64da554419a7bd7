"""Secrets kept at rest only sealed: authenticated encryption with a key derived from a configured secret.

For secrets a service must read back (identity's private signing keys, notifications' webhook signing
secrets); what only has to be checked is hashed instead. Fernet (AES-128-CBC with HMAC-SHA256) from
`cryptography`; the key is SHA-256 of `<purpose>:<secret>`, so one configured secret can serve several
purposes without one sealed value opening under another purpose.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class SealBroken(Exception):
    """A sealed value does not open: the configured secret changed, or the value was tampered with."""


class Sealer:
    def __init__(self, secret: str, *, purpose: str) -> None:
        derived = hashlib.sha256(f"{purpose}:".encode() + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self.purpose = purpose

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SealBroken(
                f"a sealed {self.purpose} value does not open (was the secret changed?)"
            ) from exc
