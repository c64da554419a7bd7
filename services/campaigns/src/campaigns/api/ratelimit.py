"""A per-client-address rate limit for the public endpoints (fixed windows, in this process)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import Request

from common.errors import TooManyRequests
from common.openapi import answers
from common.web import client_address


class RateLimiter:
    """Allows `limit` requests per address per `window` seconds; each replica counts on its own."""

    def __init__(self, limit: int, window: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._counts: dict[str, int] = {}
        self._window_index = -1

    def hit(self, client: str) -> None:
        now = self.clock()
        index = int(now // self.window)
        if index != self._window_index:
            self._window_index = index
            self._counts.clear()
        count = self._counts.get(client, 0) + 1
        self._counts[client] = count
        if count > self.limit:
            retry_after = math.ceil((index + 1) * self.window - now)
            raise TooManyRequests(
                "too many requests from this address; try again later", retry_after=retry_after
            )


@answers(429)
async def limit_public(request: Request) -> None:
    limiter: RateLimiter = request.app.state.public_rate_limiter
    limiter.hit(client_address(request, trust_forwarded_for=request.app.state.settings.trust_forwarded_for))
