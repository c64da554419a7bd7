"""Who may use a link's page and public API from another site: CORS and `frame-ancestors`.

An organization lists the origins of its own websites (`embed_origins`, an identity setting projected
here). A browser on one of them may call the public API of the organization's links (the widget) and
frame its pages (the iframe); other origins get no CORS headers, so browsers keep them out. The
challenge is open to every origin: it is public and grants nothing by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi import FastAPI, Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.errors import problem

LINK_PATH = re.compile(
    r"^/v1/public/links/([A-Za-z0-9_-]{8,32})(?:/(signatures|letters|rsvps|checkins|stories|shares))?$"
)
CHALLENGE_PATH = "/v1/public/challenge"
ALLOWED_HEADERS = "Content-Type, Idempotency-Key"
PREFLIGHT_MAX_AGE = "600"


def frame_ancestors(origins: Iterable[str]) -> str:
    """The CSP `frame-ancestors` directive for a link's pages: the service itself and the allowed origins."""
    return " ".join(["frame-ancestors", "'self'", *sorted(set(origins))])


def _cors(origin: str, methods: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": methods, "Vary": "Origin"}


class LinkCors:
    """CORS of the public link API, as plain ASGI middleware (Starlette's `@app.middleware("http")` runs
    every request, with an Origin or not, through an extra task and memory streams)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/public/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        origin = request.headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        preflight = request.method == "OPTIONS" and "access-control-request-method" in request.headers
        if path == CHALLENGE_PATH:
            if preflight:
                answer: Response = Response(
                    status_code=204,
                    headers={**_cors("*", "GET"), "Access-Control-Max-Age": PREFLIGHT_MAX_AGE},
                )
                await answer(scope, receive, send)
                return
            await self.app(scope, receive, _adding(send, {"Access-Control-Allow-Origin": "*"}, vary=False))
            return
        match = LINK_PATH.match(path)
        allowed = False
        if match is not None:
            allowed = origin in await request.app.state.campaigns.embed_origins(match.group(1))
        methods = "POST" if match is not None and match.group(2) else "GET"
        if preflight:
            if not allowed:
                answer = problem(
                    403, detail="this origin may not call this link's API", code="origin-not-allowed"
                )
            else:
                answer = Response(
                    status_code=204,
                    headers={
                        **_cors(origin, methods),
                        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                    },
                )
            await answer(scope, receive, send)
            return
        added = _cors(origin, methods) if allowed else {}
        await self.app(scope, receive, _adding(send, added, vary=True))


def _adding(send: Send, headers: dict[str, str], *, vary: bool) -> Send:
    """`send` with `headers` set on the response (and `Vary: Origin` appended when `vary`)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableHeaders(scope=message)
            if vary:
                response_headers.append("Vary", "Origin")
            for name, value in headers.items():
                if name == "Vary":
                    continue  # appended above
                response_headers[name] = value
        await send(message)

    return sending


def install_cors(app: FastAPI) -> None:
    """Answer preflights and add CORS headers on the public link API for each link's allowed origins."""
    app.add_middleware(LinkCors)
