"""Every service on a real uvicorn server refuses oversized requests: bodies counted as they arrive (413),
too many or too large header fields (431), and header sections far past the limit cut off by the parser."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from campaigns.app import create_app as create_campaigns
from campaigns.config import Settings as CampaignsSettings
from coalition.app import create_app as create_coalition
from coalition.config import Settings as CoalitionSettings
from common.embedded import free_port
from common.errors import PROBLEM_JSON
from common.limits import RequestLimits, RequestLimitsMiddleware
from common.runtime import Role
from common.settings import ServiceSettings
from common.testing.infra import Infra
from common.testing.serving import served
from eventually import eventually
from identity.app import create_app as create_identity
from identity.config import Settings as IdentitySettings
from notifications.app import create_app as create_notifications
from notifications.config import Settings as NotificationsSettings
from openapi_operations import routes, token_required

SERVICES: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "identity": (create_identity, IdentitySettings),
    "coalition": (create_coalition, CoalitionSettings),
    "campaigns": (create_campaigns, CampaignsSettings),
    "notifications": (create_notifications, NotificationsSettings),
}
WRITES = {"POST", "PUT", "PATCH"}
CHUNKED_BODY_BYTES = 20 * 1024 * 1024
PUBLIC_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Served:
    app: FastAPI
    settings: ServiceSettings
    url: str

    @property
    def limits(self) -> RequestLimits:
        for middleware in self.app.user_middleware:
            if middleware.cls is RequestLimitsMiddleware:
                limits = middleware.kwargs["limits"]
                assert isinstance(limits, RequestLimits)
                return limits
        raise AssertionError("the app has no request limits")

    def client(self) -> httpx.AsyncClient:
        # A connection per request: a refusal may close the connection it came on.
        return httpx.AsyncClient(
            base_url=self.url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)
        )


@pytest.fixture(scope="module")
async def servers(infra: Infra) -> AsyncIterator[dict[str, Served]]:
    """The four services, API role only (no consumers to disturb the session's consumer groups)."""
    running: dict[str, Served] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name, (create_app, settings_class) in SERVICES.items():
            settings = settings_class(
                environment="test",
                host="127.0.0.1",
                port=free_port(),
                mongodb_url=infra.mongodb_url,
                mongodb_database=f"{name}_limits_{uuid.uuid4().hex[:8]}",
                kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            )
            app = create_app(settings, role=Role.API)
            url = await stack.enter_async_context(served(app, settings))
            running[name] = Served(app, settings, url)
        yield running


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    content_type: str
    takes_body: bool
    requires_token: bool


def writes(app: FastAPI) -> list[Write]:
    """Every POST, PUT and PATCH route, with the content type its documented body has."""
    paths = app.openapi()["paths"]
    secured = token_required(app)
    found = []
    for route in routes(app):
        for method in sorted(WRITES & set(getattr(route, "methods", None) or ())):
            documented = paths.get(route.path, {}).get(method.lower(), {}).get("requestBody")
            content_types = list((documented or {}).get("content", {}))
            found.append(
                Write(
                    method,
                    re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), route.path),
                    # Undocumented bodies are read as forms (OAuth revocation), the one other kind here.
                    content_types[0] if content_types else "application/x-www-form-urlencoded",
                    takes_body=bool(documented) or getattr(route, "body_field", None) is not None,
                    requires_token=(method, route.path) in secured,
                )
            )
    assert found, "no writing routes found"
    return found


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def _is_problem(response: httpx.Response, status: int | None = None) -> bool:
    return response.headers.get("content-type") == PROBLEM_JSON and (
        status is None or (response.status_code == status and response.json()["status"] == status)
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_an_oversized_chunked_body_is_413_on_every_writing_route(
    servers: dict[str, Served], service: str
) -> None:
    server = servers[service]
    wrong: list[str] = []
    async with server.client() as http:
        for write in writes(server.app):
            response = await http.request(
                write.method,
                write.path,
                content=_chunks(CHUNKED_BODY_BYTES),
                headers={"content-type": write.content_type},
            )
            if write.takes_body or not write.requires_token:
                good = _is_problem(response, 413)
            else:
                # A route without a body refuses the anonymous caller before it would read one.
                good = 400 <= response.status_code < 500 and _is_problem(response)
            if not good:
                wrong.append(f"{write.method} {write.path}: {response.status_code} {response.text[:120]}")
        assert not wrong, "\n".join(wrong)
        assert (await http.get("/healthz")).status_code == 200


@pytest.mark.parametrize("service", SERVICES)
async def test_a_declared_length_past_the_limit_is_413_on_every_body_route(
    servers: dict[str, Served], service: str
) -> None:
    server = servers[service]
    oversized = b"x" * (server.limits.max_body_bytes + 1)
    wrong: list[str] = []
    async with server.client() as http:
        for write in writes(server.app):
            response = await http.request(
                write.method, write.path, content=oversized, headers={"content-type": write.content_type}
            )
            if not _is_problem(response, 413):
                wrong.append(f"{write.method} {write.path}: {response.status_code} {response.text[:120]}")
    assert not wrong, "\n".join(wrong)


async def test_public_supporter_endpoints_stop_at_64_kib(servers: dict[str, Served]) -> None:
    server = servers["campaigns"]
    public = [w for w in writes(server.app) if w.path.startswith("/v1/public/")]
    async with server.client() as http:
        statuses = {
            (w.method, w.path): (
                await http.request(
                    w.method,
                    w.path,
                    content=_chunks(PUBLIC_BODY_LIMIT + 1),
                    headers={"content-type": w.content_type},
                )
            ).status_code
            for w in public
        }

    assert public
    assert set(statuses.values()) == {413}, statuses


@pytest.mark.parametrize("service", SERVICES)
async def test_too_many_header_fields_are_431(servers: dict[str, Served], service: str) -> None:
    server = servers[service]
    count = server.settings.http_max_header_count + 1
    async with server.client() as http:
        response = await http.get("/healthz", headers=[(f"x-field-{i}", "1") for i in range(count)])

    assert _is_problem(response, 431), response.text


@pytest.mark.parametrize("service", SERVICES)
async def test_header_fields_past_the_byte_limit_are_431(servers: dict[str, Served], service: str) -> None:
    server = servers[service]
    async with server.client() as http:
        response = await http.get(
            "/healthz", headers={"x-large": "a" * server.settings.http_max_header_bytes}
        )

    assert _is_problem(response, 431), response.text


async def _refused(server: Served, headers: list[tuple[str, str]]) -> int | None:
    """Status of the answer to a GET with these header fields, or None when the connection was dropped.

    Written to the socket by hand: a client library would spend longer arranging 10,000 fields than the
    server takes to refuse them.
    """
    reader, writer = await asyncio.open_connection(server.settings.host, server.settings.port)
    head = "GET /healthz HTTP/1.1\r\nHost: limits.test\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    try:
        writer.write(head.encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
    except ConnectionError:
        return None
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return int(status_line.split()[1]) if status_line else None


@pytest.mark.parametrize("service", SERVICES)
async def test_a_one_megabyte_header_is_never_served(servers: dict[str, Served], service: str) -> None:
    server = servers[service]

    status = await _refused(server, [("x-huge", "a" * 1_000_000)])

    assert status in (None, 400, 431)
    async with server.client() as http:
        assert (await http.get("/healthz")).status_code == 200


@pytest.mark.parametrize("service", SERVICES)
async def test_ten_thousand_header_fields_are_never_served(servers: dict[str, Served], service: str) -> None:
    server = servers[service]

    status = await _refused(server, [(f"x-field-{i}", "1") for i in range(10_000)])

    assert status in (None, 400, 431)
    async with server.client() as http:
        assert (await http.get("/healthz")).status_code == 200


@pytest.mark.parametrize("service", SERVICES)
async def test_ordinary_headers_are_served(servers: dict[str, Served], service: str) -> None:
    async with servers[service].client() as http:
        response = await http.get(
            "/healthz",
            headers=[
                ("authorization", "Bearer " + "t" * 1200),
                *((f"x-field-{i}", "v" * 40) for i in range(40)),
            ],
        )

    assert response.status_code == 200


@pytest.mark.parametrize("service", SERVICES)
async def test_past_the_requests_in_flight_a_request_is_refused_with_503_busy(
    infra: Infra, service: str
) -> None:
    """With one request in flight allowed, a request whose body is still on its way holds the turn (the
    route reads its body first); another request waits for its turn, and past http_queue_seconds is
    refused with a 503 problem and Retry-After, while the probes still answer. Once the held request
    ends, requests are served again."""
    create_app, settings_class = SERVICES[service]
    settings = settings_class(
        environment="test",
        host="127.0.0.1",
        port=free_port(),
        mongodb_url=infra.mongodb_url,
        mongodb_database=f"{service}_busy_{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        http_max_in_flight=1,
        http_queue_seconds=0.2,
    )
    app = create_app(settings, role=Role.API)
    write = next(w for w in writes(app) if w.takes_body and w.content_type == "application/json")
    async with served(app, settings) as url:
        reader, writer = await asyncio.open_connection(settings.host, settings.port)
        writer.write(
            f"{write.method} {write.path} HTTP/1.1\r\nHost: {settings.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{".encode()
        )
        await writer.drain()
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            refused = await http.get("/openapi.json")
            probe = await http.get("/healthz")
            writer.close()  # the held request ends (its body never comes)
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            await reader.read()

            async def served_again() -> bool:  # once the server has seen the disconnect
                return (await http.get("/openapi.json")).status_code == 200

            await eventually(served_again, within=30, message="requests are served again")

    assert _is_problem(refused, 503), (refused.status_code, refused.text[:200])
    assert refused.headers["Retry-After"] == "1"
    assert probe.status_code == 200
