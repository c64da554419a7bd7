"""A steady stream of supporters' actions through the public endpoint, with what each request got.

Most requests are new intended actions (a new supporter signs); every tenth is a duplicate (the same
person again, a new Idempotency-Key: 200 `already_recorded`) and every tenth an idempotent retry (the same
key and body: the first result, `replayed`), and every twentieth is invalid (an address that is not one:
422, for good). A request that got no answer at all (connection refused or reset, client timeout) or a
503 (the database did not answer in time; the work may or may not have been committed, and the service
says to try again) leaves the action's fate unknown: the client retries it with the same key once the
stream is over, as a well-behaved client does, until it gets a definite answer. A request answered with
any other error status is an error for good: that action must never be counted.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from faults.platform import Campaign, post_action

RETRY_PATIENCE = 300.0
IN_FLIGHT = 24  # requests at once: below the client's connection pool, so none waits for a connection


@dataclass
class Intent:
    """One action a supporter means to take (one person, one campaign, one Idempotency-Key)."""

    campaign: Campaign
    email: str
    key: str
    state: str = "unknown"  # acknowledged | refused | unknown
    action_id: str | None = None
    statuses: list[int] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return "@" in self.email


@dataclass
class Errored:
    status: int
    content_type: str
    seconds: float


class ActionStream:
    def __init__(
        self, base_url: str, campaigns: Sequence[Campaign], *, rate: float, timeout: float, seed: int
    ) -> None:
        self.base_url = base_url
        self.campaigns = list(campaigns)
        self.rate = rate
        self.timeout = timeout
        self.rng = random.Random(seed)
        self.intents: list[Intent] = []
        self.sent = 0
        self.errors: list[Errored] = []
        self.no_answer = 0  # transport errors: refused, reset, or the client's timeout
        self.client_timeouts = 0
        self.anomalies: list[str] = []
        self.slowest = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._acknowledged: list[Intent] = []
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        self.progress = asyncio.Event()

    @property
    def acknowledged(self) -> list[Intent]:
        return list(self._acknowledged)

    @property
    def refused(self) -> list[Intent]:
        return [i for i in self.intents if i.state == "refused"]

    async def reached(self, requests: int) -> None:
        """Wait until `requests` requests have been sent."""
        while self.sent < requests:
            self.progress.clear()
            await self.progress.wait()

    def new_intent(self, campaign: Campaign) -> Intent:
        intent = Intent(campaign, f"s-{uuid.uuid4().hex[:16]}@example.net", uuid.uuid4().hex)
        self.intents.append(intent)
        return intent

    async def run(self, *, at_least: int, until: asyncio.Event | None = None) -> None:
        """Send `at_least` requests at `rate` per second, and go on while `until` is not set."""
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, limits=limits) as client:
            started = time.monotonic()
            number = 0
            while number < at_least or (until is not None and not until.is_set()):
                # Always yield: behind schedule, the loop would otherwise never let the requests run.
                await asyncio.sleep(max(0.0, started + number / self.rate - time.monotonic()))
                task = asyncio.create_task(self._one(client, number))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                number += 1
            while self._tasks:
                await asyncio.gather(*list(self._tasks))
            await self._settle_unknown(client)

    async def _one(self, client: httpx.AsyncClient, number: int) -> None:
        acknowledged = self._acknowledged
        kind = number % 10
        if kind == 7 and acknowledged:
            first = self.rng.choice(acknowledged)
            response = await self._send(client, first.campaign, first.email, uuid.uuid4().hex)
            if response is not None and response.status_code == 201:
                self.anomalies.append(f"a repeat of {first.email} was recorded again: {response.text}")
            return
        if kind == 9 and acknowledged:
            first = self.rng.choice(acknowledged)
            response = await self._send(client, first.campaign, first.email, first.key)
            if response is not None and response.is_success:
                action = response.json()["action"]["id"]
                if action != first.action_id:
                    self.anomalies.append(f"a retry of {first.key} returned {action}, not {first.action_id}")
            return
        intent = self.new_intent(self.campaigns[number % len(self.campaigns)])
        if number % 20 == 5:
            intent.email = f"not-an-address-{uuid.uuid4().hex[:8]}"
        await self._attempt(client, intent)

    async def _attempt(self, client: httpx.AsyncClient, intent: Intent) -> None:
        response = await self._send(client, intent.campaign, intent.email, intent.key)
        if response is None:
            return
        intent.statuses.append(response.status_code)
        if response.status_code == 503:
            return  # try again later, with the same key
        if response.is_success:
            intent.state = "acknowledged"
            intent.action_id = response.json()["action"]["id"]
            self._acknowledged.append(intent)
        else:
            intent.state = "refused"

    async def _send(
        self, client: httpx.AsyncClient, campaign: Campaign, email: str, key: str
    ) -> httpx.Response | None:
        async with self._in_flight:
            return await self._send_now(client, campaign, email, key)

    async def _send_now(
        self, client: httpx.AsyncClient, campaign: Campaign, email: str, key: str
    ) -> httpx.Response | None:
        self.sent += 1
        self.progress.set()
        started = time.monotonic()
        try:
            response = await post_action(client, campaign, email=email, idempotency_key=key)
        except httpx.TimeoutException:
            self.client_timeouts += 1
            self.no_answer += 1
            return None
        except httpx.TransportError:
            self.no_answer += 1
            return None
        seconds = time.monotonic() - started
        self.slowest = max(self.slowest, seconds)
        if not response.is_success:
            self.errors.append(
                Errored(response.status_code, response.headers.get("content-type", ""), seconds)
            )
        return response

    async def _settle_unknown(self, client: httpx.AsyncClient) -> None:
        """Retry, with the same key, every action whose request got no answer, until each has one."""
        deadline = time.monotonic() + RETRY_PATIENCE
        while unknown := [i for i in self.intents if i.state == "unknown"]:
            assert time.monotonic() < deadline, f"{len(unknown)} actions got no answer in {RETRY_PATIENCE}s"
            await asyncio.gather(*(self._attempt(client, intent) for intent in unknown))
            if any(i.state == "unknown" for i in unknown):
                await asyncio.sleep(1.0)  # as Retry-After asks: give the service a moment
