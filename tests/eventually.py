"""Waiting for asynchronous outcomes in tests without fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    within: float = 30.0,
    interval: float = 0.05,
    message: str = "condition",
) -> None:
    """Poll `check` until it is true; fail with `message` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {message}")
        await asyncio.sleep(interval)
