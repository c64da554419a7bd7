"""The proof-of-work that public forms carry: the ALTCHA protocol (v1), made and checked here.

A challenge is `{algorithm, challenge, maxnumber, salt, signature}`: `challenge` is the SHA-256 (hex) of
`salt` followed by a secret random number up to `maxnumber`, `signature` the HMAC-SHA256 (hex) of
`challenge` under the service's key, and `salt` carries its expiry (`?expires=<unix seconds>`), so the
server keeps nothing until a solution comes back. The browser finds the number by trying them all
(tens of milliseconds) and sends `base64(JSON {algorithm, challenge, number, salt, signature})`. No third
party is involved; the ALTCHA widget, or any client that follows the protocol, solves it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard
from urllib.parse import parse_qs

ALGORITHM = "SHA-256"


@dataclass(frozen=True)
class Challenge:
    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str


@dataclass(frozen=True)
class Solution:
    """A solved challenge, checked: `challenge` identifies it (to spend it once), until `expires`."""

    challenge: str
    expires: datetime


class ProofRefused(ValueError):
    """The payload is not a solution of a challenge this key made, or its time is over."""


def _signature(key: str, challenge: str) -> str:
    return hmac.new(key.encode(), challenge.encode(), hashlib.sha256).hexdigest()


def make_challenge(key: str, *, max_number: int, expires: datetime) -> Challenge:
    salt = f"{secrets.token_hex(12)}?expires={int(expires.timestamp())}"
    number = secrets.randbelow(max_number + 1)
    challenge = hashlib.sha256(f"{salt}{number}".encode()).hexdigest()
    return Challenge(ALGORITHM, challenge, max_number, salt, _signature(key, challenge))


def _text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= 200


def check_solution(key: str, payload: str, now: datetime) -> Solution:
    """The solution in an ALTCHA payload, or ProofRefused saying why not."""
    try:
        data = json.loads(base64.b64decode(payload.encode(), validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ProofRefused("the proof-of-work payload is not base64-encoded JSON") from exc
    if not isinstance(data, dict):
        raise ProofRefused("the proof-of-work payload is not an object")
    algorithm, challenge, number = data.get("algorithm"), data.get("challenge"), data.get("number")
    salt, signature = data.get("salt"), data.get("signature")
    if algorithm != ALGORITHM:
        raise ProofRefused(f"the proof-of-work algorithm must be {ALGORITHM}")
    if not (_text(challenge) and _text(salt) and _text(signature)):
        raise ProofRefused("the proof-of-work payload lacks its challenge, salt or signature")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ProofRefused("the proof-of-work payload lacks its number")
    if not hmac.compare_digest(_signature(key, challenge), signature):
        raise ProofRefused("the challenge was not issued here")
    expires = parse_qs(salt.partition("?")[2]).get("expires", [""])[0]
    if not expires.isdigit():
        raise ProofRefused("the challenge has no expiry")
    until = datetime.fromtimestamp(int(expires), tz=now.tzinfo)
    if until <= now:
        raise ProofRefused("the challenge expired; ask for a new one")
    if not hmac.compare_digest(hashlib.sha256(f"{salt}{number}".encode()).hexdigest(), challenge):
        raise ProofRefused("the number does not solve the challenge")
    return Solution(challenge=challenge, expires=until)
