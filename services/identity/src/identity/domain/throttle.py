"""Slowing down password guessing: lockouts per (account, source) that grow, and a per-account ceiling.

A pair of account name and client address is locked after a few failures, so one source cannot keep
guessing and cannot lock the real owner out from elsewhere either. A much higher ceiling per account
name, across all sources, slows down guessing distributed over many addresses.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import timedelta

from pydantic import BaseModel


class LoginThrottlePolicy(BaseModel):
    free_failures: int = 5
    base_lockout: timedelta = timedelta(seconds=30)
    max_lockout: timedelta = timedelta(minutes=15)
    account_ceiling: int = 100
    account_window: timedelta = timedelta(minutes=15)

    def lockout(self, strikes: int) -> timedelta:
        """How long the `strikes`-th lock of a pair lasts (0 for its first): doubling up to the cap."""
        lockout: timedelta = min(self.base_lockout * (2 ** min(max(strikes, 0), 20)), self.max_lockout)
        return lockout

    def lockout_after(self, failures: int) -> timedelta:
        """How long a pair is locked after `failures` consecutive failures (zero while still free)."""
        if failures < self.free_failures:
            return timedelta(0)
        return self.lockout(failures - self.free_failures)

    @property
    def forget_after(self) -> timedelta:
        """A pair with no attempt for this long starts afresh."""
        return self.max_lockout * 4


def source_of(address: str) -> str:
    """The source a client address counts as: an IPv6 client controls its whole /64, so that is one source."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:100] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def pair_key(account: str, source: str) -> str:
    """Storage key of an (account name, source) pair; a digest, so no address is kept in clear."""
    return "pair:" + hashlib.sha256(f"{account}\x00{source}".encode()).hexdigest()


def account_key(account: str) -> str:
    return "account:" + hashlib.sha256(account.encode()).hexdigest()
