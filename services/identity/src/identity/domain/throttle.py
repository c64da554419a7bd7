"""Slowing down password guessing: lockouts that grow with consecutive failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel


class LoginThrottlePolicy(BaseModel):
    free_failures: int = 5
    base_lockout: timedelta = timedelta(seconds=30)
    max_lockout: timedelta = timedelta(minutes=15)

    def lockout_after(self, failures: int) -> timedelta:
        """How long to lock after the `failures`-th consecutive failure (zero while still free)."""
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 20)
        lockout: timedelta = min(self.base_lockout * (2**doublings), self.max_lockout)
        return lockout

    def locked_until(self, failures: int, now: datetime) -> datetime | None:
        lockout = self.lockout_after(failures)
        return now + lockout if lockout else None
