"""Request limits hold on the bytes received, and MongoDB outages answer 503: the shared HTTP wiring alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from common.errors import PROBLEM_JSON
from common.settings import ServiceSettings
from common.web import install_common

LIMIT = 64 * 1024


class Note(BaseModel):
    text: str


def _app() -> FastAPI:
    app = FastAPI()
    install_common(app, service="test", checks={}, tracer_provider=None, max_body_bytes=LIMIT)
    app.state.handled = 0

    @app.post("/notes")
    async def create(note: Note, request: Request) -> dict[str, int]:
        request.app.state.handled += 1
        return {"length": len(note.text)}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        # A route that reads the body itself and turns any failure into its own answer.
        try:
            return {"length": len(await request.body())}
        except Exception:
            return {"length": -1}

    outages: dict[str, Exception] = {
        "selection": ServerSelectionTimeoutError("no primary"),
        "network": NetworkTimeout("timed out"),
        "reconnect": AutoReconnect("connection closed"),
        "execution": ExecutionTimeout("operation exceeded time limit", 50),
        "transaction": OperationFailure(
            "write conflict", 112, {"errorLabels": ["TransientTransactionError"]}
        ),
    }

    @app.get("/outage/{kind}")
    async def outage(kind: str) -> None:
        if kind == "wrapped":
            raise RuntimeError("the repository failed") from NetworkTimeout("timed out")
        if kind == "duplicate":
            raise DuplicateKeyError("E11000 duplicate key")
        raise outages[kind]

    return app


@pytest.fixture
def app() -> FastAPI:
    return _app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def _chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def _assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == status


async def test_a_streamed_body_past_the_limit_is_413_and_never_handled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/notes", content=_chunks(20 * 1024 * 1024), headers={"content-type": "application/json"}
    )

    _assert_problem(response, 413)
    assert app.state.handled == 0


async def test_a_route_that_swallows_the_failed_read_still_answers_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/raw", content=_chunks(LIMIT + 1))

    _assert_problem(response, 413)


async def test_a_declared_length_past_the_limit_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/raw", content=b"x" * (LIMIT + 1))

    _assert_problem(response, 413)


async def test_a_streamed_body_within_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post("/raw", content=_chunks(LIMIT))

    assert response.status_code == 200
    assert response.json() == {"length": LIMIT}


async def test_too_many_header_fields_are_431(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers=[(f"x-field-{i}", "1") for i in range(101)])

    _assert_problem(response, 431)


async def test_header_fields_past_the_byte_limit_are_431(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"x-large": "a" * 16_384})

    _assert_problem(response, 431)


async def test_header_fields_within_the_limits_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers=[(f"x-field-{i}", "a" * 100) for i in range(90)])

    assert response.status_code == 200


@pytest.mark.parametrize("kind", ["selection", "network", "reconnect", "execution", "transaction", "wrapped"])
async def test_a_database_that_does_not_answer_is_503_with_retry_after(
    client: httpx.AsyncClient, kind: str
) -> None:
    response = await client.get(f"/outage/{kind}")

    _assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1


async def test_other_database_errors_stay_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/outage/duplicate")

    _assert_problem(response, 500)
    assert "retry-after" not in response.headers


# ---- requests in flight ------------------------------------------------------------------------------


def _held_app(
    max_in_flight: int, queue_seconds: float
) -> tuple[FastAPI, asyncio.Event, list[str], asyncio.Queue[str]]:
    """An app whose /hold requests stay at work until `release` is set; `started` lists the requests that
    reached the route, and `arrivals` hands them to the test as they do."""
    settings = ServiceSettings(
        environment="test", http_max_in_flight=max_in_flight, http_queue_seconds=queue_seconds
    )
    app = FastAPI()
    install_common(app, service="test", checks={}, tracer_provider=None, settings=settings)
    release = asyncio.Event()
    started: list[str] = []
    arrivals: asyncio.Queue[str] = asyncio.Queue()

    @app.get("/hold/{name}")
    async def hold(name: str) -> dict[str, str]:
        started.append(name)
        arrivals.put_nowait(name)
        await release.wait()
        return {"name": name}

    return app, release, started, arrivals


async def test_a_request_past_the_in_flight_limit_is_refused_with_503_when_its_wait_runs_out() -> None:
    app, release, started, arrivals = _held_app(max_in_flight=2, queue_seconds=0.05)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        held = [asyncio.create_task(http.get(f"/hold/{n}")) for n in ("a", "b")]
        assert {await arrivals.get(), await arrivals.get()} == {"a", "b"}

        async with asyncio.timeout(10):  # without a limit it would be held with the others
            refused = await http.get("/hold/c")
        probe = await http.get("/healthz")
        release.set()
        answers = await asyncio.gather(*held)

    _assert_problem(refused, 503)
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["type"].endswith("/busy")
    assert sorted(started) == ["a", "b"]  # the refused request never reached its route
    assert probe.status_code == 200  # probes are answered however busy the process is
    assert [a.json()["name"] for a in answers] == ["a", "b"]
    assert arrivals.empty()


async def test_a_request_past_the_in_flight_limit_waits_its_turn_and_is_served() -> None:
    app, release, started, arrivals = _held_app(max_in_flight=1, queue_seconds=30)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        first = asyncio.create_task(http.get("/hold/first"))
        assert await arrivals.get() == "first"
        second = asyncio.create_task(http.get("/hold/second"))
        await asyncio.sleep(0.05)
        assert started == ["first"]  # waiting for its turn, not at work

        release.set()
        answers = await asyncio.gather(first, second)

    assert [a.status_code for a in answers] == [200, 200]
    assert started == ["first", "second"]
