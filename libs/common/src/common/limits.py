"""What one HTTP request may cost: header and body limits on the bytes received, a deadline on its MongoDB
work, and how many requests one process works on at once.

All are plain ASGI middleware, so they hold for every route of every service, whatever the route reads
and however the body arrives (Content-Length or chunked).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pymongo
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.errors import problem


@dataclass(frozen=True)
class RequestLimits:
    """The most a request may bring: its body, its header fields and their total size."""

    max_body_bytes: int
    max_header_count: int
    max_header_bytes: int


class _BodyTooLarge(Exception):
    """Raised into the app when the body it reads passes the limit."""


def header_section_bytes(scope: Scope) -> int:
    """Size of the request line and header fields as sent (name: value CRLF), near enough."""
    line = len(scope["method"]) + len(scope.get("raw_path") or b"") + len(scope["query_string"]) + 12
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


class RequestLimitsMiddleware:
    """Refuses too many or too large header fields (431) and bodies past the limit (413) as they arrive.

    The body is counted as the app receives it, so chunked bodies are bounded as well as declared ones;
    once past the limit the app gets no more of it, and whatever the app made of that is replaced by the 413.
    The connection stays open: the server discards the rest of the body as it arrives, never buffering it.
    Closing instead would reset a connection that still has unread bytes, and the client would lose the 413.
    """

    def __init__(self, app: ASGIApp, *, limits: RequestLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        headers = scope["headers"]
        if len(headers) > limits.max_header_count or header_section_bytes(scope) > limits.max_header_bytes:
            refusal = problem(
                431,
                detail=(
                    f"requests are limited to {limits.max_header_count} header fields "
                    f"and {limits.max_header_bytes} bytes of request line and headers"
                ),
                instance=scope["path"],
            )
            await refusal(scope, receive, send)
            return
        declared = [value for name, value in headers if name == b"content-length"]
        if any(not v.isdigit() or int(v) > limits.max_body_bytes for v in declared) or len(set(declared)) > 1:
            await self._too_large(scope, receive, send)
            return
        await self._counting_body(scope, receive, send)

    async def _counting_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limits.max_body_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's own answer to a read that failed; the 413 below replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            # Frameworks wrap a failed read in their own errors (FastAPI: a 400); the cause is the limit.
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = problem(
            413,
            detail=f"request bodies are limited to {self.limits.max_body_bytes} bytes",
            instance=scope["path"],
        )
        await refusal(scope, receive, send)


class MongoDeadlineMiddleware:
    """Bounds all MongoDB work of one request (PyMongo's client-side operation timeout, `timeoutMS`).

    Server selection, connection checkout, each command's socket reads and transaction retries all share
    the request's deadline, so a MongoDB that stops answering turns into a 503 within that time. Background
    work (change streams, the outbox relay, consumers) runs outside requests and is not bounded by it; the
    deadline is a context variable, so a task started from within a request inherits it: start long-lived
    work from the lifespan.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with pymongo.timeout(self.seconds):
            await self.app(scope, receive, send)


# Probes and metrics are answered whatever the load: an orchestrator must see a busy process as alive.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class InFlightLimitMiddleware:
    """At most `max_in_flight` requests of one process at work at once; the others wait their turn, in
    order, for at most `queue_seconds`, and past it are refused with 503 and Retry-After at once.

    Past the point where the process (and the MongoDB behind it) is busy, more concurrent requests add
    only latency: a surge arriving faster than it can be served would otherwise pile up transactions and
    connection checkouts until each one times out after doing part of its work, and throughput collapses
    (measured: an open-loop load at 70 actions/s got 37/s answered and 1,327 503s after about 11 s each,
    where a closed loop of 64 connections got 185/s). A bounded queue keeps the process at its capacity
    and tells the surplus early to come back.
    """

    def __init__(self, app: ASGIApp, *, max_in_flight: int, queue_seconds: float) -> None:
        self.app = app
        self.queue_seconds = queue_seconds
        self.max_in_flight = max_in_flight
        self._slots = asyncio.Semaphore(max_in_flight)
        self.in_flight = 0
        self.refused = 0  # for diagnostics and tests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.queue_seconds):
                await self._slots.acquire()
        except TimeoutError:
            self.refused += 1
            busy = problem(
                503,
                detail="the service is busy; try again shortly",
                code="busy",
                instance=scope["path"],
                headers={"Retry-After": "1"},
            )
            await busy(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self._slots.release()
