"""What the fuzz tests call: one service's in-process client, and the user it acts as."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from identity_api import Person


@dataclass(frozen=True)
class Fuzzer:
    """A user who owns an organization, so the token carries a role."""

    person: Person
    org_id: str


@dataclass
class Target:
    """One service under fuzzing: a client that answers 5xx instead of raising, and who calls it."""

    http: httpx.AsyncClient
    user: Person
    ids: dict[str, str] = field(default_factory=dict)
