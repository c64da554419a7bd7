"""Waking a queue's worker when work arrives: in-process signals, a change stream, or its own timer.

A worker (webhook delivery, the mailer) sleeps until one of these: a signal from this process (a
consumer's transaction that queued work has committed, an API call queued a message), an insert seen on
the queue's change stream (work queued by another replica), the next scheduled retry it knows of, or the
fallback poll interval (leases of replicas that died, or a change stream that is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from common.mongo import Database

log = logging.getLogger(__name__)

_queued: ContextVar[set[str] | None] = ContextVar("notifications_queued", default=None)


def note_queued(queue: str) -> None:
    """Record that the current unit of work queued something on `queue` (a collection name)."""
    queued = _queued.get()
    if queued is not None:
        queued.add(queue)


@contextlib.contextmanager
def collecting_queued() -> Iterator[set[str]]:
    """The queues that work done inside this block filled (to wake their workers once it committed)."""
    queued: set[str] = set()
    token = _queued.set(queued)
    try:
        yield queued
    finally:
        _queued.reset(token)


class Wakeup:
    """One worker's alarm: set by signals and by the change stream on its queue, else by a timeout."""

    def __init__(self, *, db: Database, collection: str, pipeline: Sequence[Mapping[str, Any]]) -> None:
        self.db = db
        self.collection = collection
        self.pipeline = list(pipeline)
        self._event = asyncio.Event()
        self.count: Counter[str] = Counter()  # wake-ups by cause, for tests and diagnostics

    def signal(self, cause: str = "local") -> None:
        self.count[cause] += 1
        self._event.set()

    def clear(self) -> None:
        """Forget earlier signals: called before looking for work, so none arriving during it is lost."""
        self._event.clear()

    async def wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        # asyncio.timeout rather than wait_for: a cancellation racing the timeout must not be swallowed.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._event.wait()

    async def watch(self, retry_seconds: float = 5.0) -> None:
        """Signal on every matching change of the queue's collection until cancelled."""
        while True:
            try:
                async with await self.db[self.collection].watch(self.pipeline) as stream:
                    # Work queued while the stream was not open is only known by looking: look once now.
                    self.signal("change-stream-opened")
                    async for _ in stream:
                        self.signal("change-stream")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("%s change stream unavailable; relying on polling for now", self.collection)
                await asyncio.sleep(retry_seconds)

    async def run_passes(self, step: Callable[[], Awaitable[float]], *, poll: float, what: str) -> None:
        """The worker's loop until cancelled: look for work, then sleep until woken or the pass's wait.

        `step` does one pass and returns the seconds until work may be due; a failing pass is logged
        and retried after `poll`. The change stream on the queue runs beside the loop.
        """
        watcher = asyncio.create_task(self.watch())
        try:
            while True:
                self.clear()
                try:
                    wait = await step()
                except Exception:
                    log.exception("%s failed; will retry", what)
                    wait = poll
                await self.wait(wait)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
