"""Hashing and secrets: argon2id for passwords and client secrets, SHA-256 for high-entropy tokens."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from common.sealing import SealBroken, Sealer


class Hasher:
    """argon2id, run in a worker thread so a login never blocks the event loop."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._argon = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # A hash of a random value: verifying against it makes unknown users cost as much as known ones.
        self._decoy = self._argon.hash(secrets.token_urlsafe(16))
        self.verifications = 0  # observable, so tests can see how many guesses were really evaluated

    async def hash(self, secret: str) -> str:
        return await asyncio.to_thread(self._argon.hash, secret)

    async def verify(self, stored_hash: str | None, secret: str) -> bool:
        self.verifications += 1
        return await asyncio.to_thread(self._verify, stored_hash or self._decoy, secret)

    def _verify(self, stored_hash: str, secret: str) -> bool:
        try:
            return self._argon.verify(stored_hash, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._argon.check_needs_rehash(stored_hash)


def token_digest(token: str) -> str:
    """Digest of a random 256-bit token; enough because such tokens cannot be guessed."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class KeyVault:
    """Encrypts private signing keys at rest with a key derived from a configured secret."""

    def __init__(self, secret: str) -> None:
        self._sealer = Sealer(secret, purpose="identity-signing-keys")

    def seal(self, plaintext: str) -> str:
        return self._sealer.seal(plaintext)

    def open(self, sealed: str) -> str:
        try:
            return self._sealer.open(sealed)
        except SealBroken as exc:
            raise RuntimeError(
                "a signing key cannot be decrypted: IDENTITY_KEY_ENCRYPTION_SECRET changed?"
            ) from exc
