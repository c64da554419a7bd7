"""Composition root: builds the campaigns service from its settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from campaigns.api import public, routes
from campaigns.api.ratelimit import RateLimiter
from campaigns.config import SERVICE, Settings
from campaigns.messaging.publishers import declare_publishers
from campaigns.messaging.subscribers import register_consumers
from campaigns.repository import INDEXES, CampaignRepository
from campaigns.service import CampaignService
from common.auth import KeySource, verifier_for
from common.events import source_urn
from common.runtime import Role, Runtime, every, stop_task
from common.telemetry import configure_tracing
from common.web import install_common

DESCRIPTION = """
Advocacy campaigns (petitions, letters, events, story collections, shares) owned by an organization or a
coalition, adopted by coalition members, with public endpoints where supporters act without an account.
Management tokens come from the identity service. Errors are RFC 9457 `application/problem+json`.
"""
MAX_BODY_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None, *, role: Role = Role.SERVE, keys: KeySource | None = None
) -> FastAPI:
    settings = settings or Settings()
    tracer_provider = configure_tracing(SERVICE, settings)
    holder: dict[str, CampaignService] = {}
    runtime = Runtime.build(
        service=SERVICE,
        mongo_settings=settings,
        kafka_settings=settings,
        source=source_urn(settings.deployment_id, SERVICE),
        role=role,
        tracer_provider=tracer_provider,
        indexes=INDEXES,
        declare_publishers=declare_publishers,
        register_consumers=register_consumers(
            lambda: holder["service"], settings.kafka_consumer_max_attempts
        ),
    )
    service = CampaignService(
        client=runtime.client, repo=CampaignRepository(runtime.db), outbox=runtime.outbox, settings=settings
    )
    holder["service"] = service

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        scheduler = None
        if role.runs_consumers:
            work = every(settings.schedule_sweep_seconds, service.apply_due_schedules, "applying schedules")
            scheduler = asyncio.create_task(work)
        try:
            yield
        finally:
            await stop_task(scheduler)
            await runtime.stop()

    app = FastAPI(title="Campaigns service", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.campaigns = service
    app.state.public_rate_limiter = RateLimiter(
        settings.public_rate_limit, settings.public_rate_window_seconds
    )
    app.state.token_verifier = verifier_for(settings, keys)
    install_common(
        app,
        service=SERVICE,
        checks={"mongodb": runtime.mongo_ready, "kafka": runtime.kafka_ready},
        tracer_provider=tracer_provider,
        max_body_bytes=MAX_BODY_BYTES,
    )
    app.include_router(routes.router)
    app.include_router(public.router)
    return app
