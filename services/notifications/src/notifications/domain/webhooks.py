"""Webhook endpoints and messages: event-type patterns, Standard Webhooks signing, the retry schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from uuid import UUID

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks secret prefix
SECRET_BYTES = 32
EVENT_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


class MessageStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AttemptOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def new_secret() -> str:
    """A signing secret as Standard Webhooks libraries expect it: `whsec_` + base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_id(message_id: UUID) -> str:
    return f"msg_{message_id.hex}"


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the secret's decoded key."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets_: Sequence[str], *, msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per active secret (several during a rotation's grace period)."""
    return " ".join(sign(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_)


def valid_pattern(pattern: str) -> bool:
    return len(pattern) <= 120 and EVENT_PATTERN.fullmatch(pattern) is not None


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """Exact names, `*` for everything, or a prefix wildcard such as `campaigns.*` (any depth)."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


@dataclass(frozen=True)
class EndpointFilters:
    """Optional narrowing of an endpoint to some coalitions and campaigns (empty means all)."""

    coalition_ids: frozenset[UUID] = frozenset()
    campaign_ids: frozenset[UUID] = frozenset()

    def admit(self, *, coalition_id: UUID | None, campaign_id: UUID | None) -> bool:
        if self.coalition_ids and coalition_id not in self.coalition_ids:
            return False
        return not (self.campaign_ids and campaign_id not in self.campaign_ids)


def retry_delay(
    schedule: Sequence[float], attempt: int, *, jitter: float, rng: random.Random
) -> float | None:
    """Seconds before attempt number `attempt + 1` (1-based), after `attempt` attempts; None when done."""
    if attempt >= len(schedule):
        return None
    base = schedule[attempt]
    return base + base * jitter * rng.random()


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """The delay a Retry-After header asks for (seconds or an HTTP date), or None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def next_attempt_after(
    schedule: Sequence[float],
    attempt: int,
    *,
    now: datetime,
    retry_after: float | None,
    retry_after_max: float,
    jitter: float,
    rng: random.Random,
) -> datetime | None:
    """When the next attempt is due after `attempt` failed ones; Retry-After wins when it asks for later."""
    delay = retry_delay(schedule, attempt, jitter=jitter, rng=rng)
    if delay is None:
        return None
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry_after_max))
    return now + timedelta(seconds=delay)


def is_success(status: int) -> bool:
    return 200 <= status < 300
