"""A real HTTP receiver on loopback for webhook tests: scripted answers per path, every request recorded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.embedded import free_port
from eventually import eventually


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: str = "ok"
    # Hold the answer until this many requests to the path are open at once (or `together_within` ends).
    together: int = 0
    together_within: float = 0.9


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # monotonic

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """Answers POST /hooks/<path> from the path's script (the last answer repeats), records each request."""

    def __init__(self) -> None:
        self.port = free_port()
        self.scripts: dict[str, list[Answer]] = {}
        self.received: dict[str, list[Received]] = defaultdict(list)
        self.open: dict[str, int] = defaultdict(int)
        self.most_open: dict[str, int] = defaultdict(int)  # the most requests to a path open at once
        self._changed = asyncio.Condition()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/hooks/{path}"

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)

    def requests(self, path: str) -> list[Received]:
        return list(self.received[path])

    async def _hook(self, request: Request) -> Response:
        path = request.path_params["path"]
        body = await request.body()
        self.received[path].append(Received(dict(request.headers), body, time.monotonic()))
        script = self.scripts.get(path) or [Answer()]
        answer = script.pop(0) if len(script) > 1 else script[0]
        async with self._changed:
            self.open[path] += 1
            self.most_open[path] = max(self.most_open[path], self.open[path])
            self._changed.notify_all()
        try:
            if answer.together:
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(answer.together_within):
                            await self._changed.wait_for(lambda: self.open[path] >= answer.together)
            if answer.delay:
                await asyncio.sleep(answer.delay)
        finally:
            async with self._changed:
                self.open[path] -= 1
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hooks/{path}", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        server = self._server
        await eventually(lambda: server.started, within=30, message="the webhook receiver to listen")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
