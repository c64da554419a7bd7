"""Operations endpoints: liveness, readiness against real servers, Prometheus metrics."""

from __future__ import annotations

from identity_api import IdentityApi


async def test_liveness_and_readiness(api: IdentityApi) -> None:
    alive = await api.http.get("/healthz")
    ready = await api.http.get("/readyz")

    assert alive.json() == {"status": "ok", "service": "identity"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"mongodb": "ok", "kafka": "ok"}}


async def test_metrics_count_requests_by_route_template(api: IdentityApi) -> None:
    await api.http.get("/v1/organizations/00000000-0000-0000-0000-000000000000")

    metrics = (await api.http.get("/metrics")).text

    assert (
        'http_requests_total{method="GET",route="/v1/organizations/{org_id}",service="identity",status="404"}'
        in metrics
    )
    assert "http_request_duration_seconds_bucket" in metrics
