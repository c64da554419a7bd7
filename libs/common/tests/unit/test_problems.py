"""Every failure becomes RFC 9457 problem+json with the right status."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from common.errors import Conflict, TooManyRequests, install_problem_handlers


class Body(BaseModel):
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(body: Body) -> dict[str, int]:
        if body.count == 409:
            raise Conflict("the thing exists", thing="x")
        if body.count == 429:
            raise TooManyRequests("slow down", retry_after=7)
        if body.count == 500:
            raise RuntimeError("boom: internal detail that must not leak")
        return {"count": body.count}

    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b'{"count": 409}', 409),
        (b'{"count": 429}', 429),
        (b'{"count": "x"}', 422),
        (b"{not json", 400),
        (b'{"count": 500}', 500),
    ],
)
async def test_failures_are_problem_documents(client: httpx.AsyncClient, content: bytes, status: int) -> None:
    response = await client.post("/things", content=content, headers={"content-type": "application/json"})

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["instance"] == "/things"
    assert "internal detail" not in response.text


async def test_domain_extensions_and_headers_are_kept(client: httpx.AsyncClient) -> None:
    conflict = await client.post("/things", json={"count": 409})
    limited = await client.post("/things", json={"count": 429})

    assert conflict.json()["thing"] == "x"
    assert limited.headers["retry-after"] == "7"


async def test_unknown_route_is_a_problem_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_an_extension_may_not_take_a_problem_members_name() -> None:
    # `status=` once turned every refusal that used it into a 500 (problem() got the name twice).
    for name in ("type", "title", "status", "instance", "code", "headers"):
        with pytest.raises(ValueError, match=name):
            Conflict("refused", **{name: "x"})
