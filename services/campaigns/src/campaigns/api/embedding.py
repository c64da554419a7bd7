"""Who may use a link's page and public API from another site: CORS and `frame-ancestors`.

An organization lists the origins of its own websites (`embed_origins`, an identity setting projected
here). A browser on one of them may call the public API of the organization's links (the widget) and
frame its pages (the iframe); other origins get no CORS headers, so browsers keep them out. The
challenge is open to every origin: it is public and grants nothing by itself.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable

from fastapi import FastAPI, Request, Response

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


def install_cors(app: FastAPI) -> None:
    """Answer preflights and add CORS headers on the public link API for each link's allowed origins."""

    @app.middleware("http")
    async def cors(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        origin = request.headers.get("origin")
        path = request.url.path
        if origin is None or not path.startswith("/v1/public/"):
            return await call_next(request)
        preflight = request.method == "OPTIONS" and "access-control-request-method" in request.headers
        if path == CHALLENGE_PATH:
            if preflight:
                return Response(
                    status_code=204,
                    headers={**_cors("*", "GET"), "Access-Control-Max-Age": PREFLIGHT_MAX_AGE},
                )
            response = await call_next(request)
            response.headers["Access-Control-Allow-Origin"] = "*"
            return response
        match = LINK_PATH.match(path)
        allowed = False
        if match is not None:
            allowed = origin in await request.app.state.campaigns.embed_origins(match.group(1))
        methods = "POST" if match is not None and match.group(2) else "GET"
        if preflight:
            if not allowed:
                return problem(
                    403, detail="this origin may not call this link's API", code="origin-not-allowed"
                )
            return Response(
                status_code=204,
                headers={
                    **_cors(origin, methods),
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                },
            )
        response = await call_next(request)
        response.headers.append("Vary", "Origin")
        if allowed:
            response.headers.update(_cors(origin, methods))
        return response
