"""What every service's HTTP API has: problem+json errors, health, readiness, metrics, tracing."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel
from pydantic_settings import BaseSettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.errors import install_problem_handlers
from common.limits import (
    InFlightLimitMiddleware,
    MongoDeadlineMiddleware,
    RequestLimits,
    RequestLimitsMiddleware,
)
from common.openapi import install_problem_documents
from common.settings import MongoSettings, ServiceSettings

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

ReadinessCheck = Callable[[], Awaitable[bool]]


class Readiness(BaseModel):
    """The readiness report: `ready` or `unavailable`, and each check's result (`ok` or `failing`)."""

    status: str
    checks: dict[str, str]


def client_address(request: Request, *, trust_forwarded_for: bool) -> str:
    """The caller's address: the connection's peer, or X-Forwarded-For's first hop when the service
    runs behind a proxy it trusts (`trust_forwarded_for`; otherwise the header is the caller's say-so)."""
    if trust_forwarded_for:
        first = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        if first:
            return first
    return request.client.host if request.client else "unknown"


def _route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/organizations/{org_id}`), so ids do not explode label sets."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "unmatched"


class RequestMetricsMiddleware:
    """Counts requests and their latency by route template and status.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
    request in a task group with memory streams, which costs a noticeable share of a busy endpoint.
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)


def operations_router(service: str, checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get(
        "/readyz",
        summary="Readiness: MongoDB and Kafka are reachable",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "a dependency is unreachable"}},
    )
    async def readyz() -> JSONResponse:
        results = {name: await check() for name, check in checks.items()}
        ready = all(results.values())
        return JSONResponse(
            {
                "status": "ready" if ready else "unavailable",
                "checks": {k: "ok" if v else "failing" for k, v in results.items()},
            },
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _setting(settings: object, kind: type[BaseSettings], name: str) -> Any:
    """A setting's value, or its default when the app has no settings of that kind (tests of the wiring)."""
    return getattr(settings, name) if isinstance(settings, kind) else kind.model_fields[name].default


def install_common(
    app: FastAPI,
    *,
    service: str,
    checks: dict[str, ReadinessCheck],
    tracer_provider: TracerProvider | None,
    max_body_bytes: int = 1_048_576,
    settings: BaseSettings | None = None,
) -> None:
    """Problem handlers (and their OpenAPI documentation), operations endpoints, request metrics, request limits, a MongoDB deadline, tracing.

    `settings` default to `app.state.settings`, where each composition root keeps them.
    """
    settings = settings if settings is not None else getattr(app.state, "settings", None)
    install_problem_handlers(app)
    install_problem_documents(app)
    app.include_router(operations_router(service, checks))

    # The last added runs first: measure (so refusals are counted too), request limits, a turn among the
    # requests in flight, MongoDB deadline (which starts once the request has its turn).
    app.add_middleware(
        MongoDeadlineMiddleware,
        seconds=_setting(settings, MongoSettings, "mongodb_request_timeout_seconds"),
    )
    app.add_middleware(
        InFlightLimitMiddleware,
        max_in_flight=_setting(settings, ServiceSettings, "http_max_in_flight"),
        queue_seconds=_setting(settings, ServiceSettings, "http_queue_seconds"),
    )
    limits = RequestLimits(
        max_body_bytes=max_body_bytes,
        max_header_count=_setting(settings, ServiceSettings, "http_max_header_count"),
        max_header_bytes=_setting(settings, ServiceSettings, "http_max_header_bytes"),
    )
    app.add_middleware(RequestLimitsMiddleware, limits=limits)

    app.add_middleware(RequestMetricsMiddleware, service=service)

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracer_provider, excluded_urls="healthz,readyz,metrics"
    )
