"""Composition root: builds the campaigns service from its settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from campaigns.advocacy_repository import ADVOCACY_INDEXES
from campaigns.aggregator import Aggregator
from campaigns.api import advocacy, public, routes, targets
from campaigns.api.embedding import install_cors
from campaigns.api.ratelimit import RateLimiter
from campaigns.config import SERVICE, Settings
from campaigns.messaging.publishers import declare_publishers
from campaigns.messaging.subscribers import register_consumers
from campaigns.pages import routes as pages
from campaigns.repository import INDEXES, CampaignRepository
from campaigns.service import CampaignService
from campaigns.targets_repository import TARGET_INDEXES
from common.access import ACCESS_INDEXES, AccessProjection
from common.auth import KeySource, verifier_for
from common.contracts import topics
from common.events import source_urn
from common.kafka import ensure_topics
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
    holder: dict[str, Any] = {}
    runtime = Runtime.build(
        service=SERVICE,
        mongo_settings=settings,
        kafka_settings=settings,
        source=source_urn(settings.deployment_id, SERVICE),
        role=role,
        tracer_provider=tracer_provider,
        indexes=(*INDEXES, *ACCESS_INDEXES, *ADVOCACY_INDEXES, *TARGET_INDEXES),
        declare_publishers=declare_publishers,
        register_consumers=register_consumers(
            lambda: holder["service"],
            settings.kafka_consumer_max_attempts,
            aggregator=lambda: holder["aggregator"],
            batch_size=settings.aggregate_batch_size,
        ),
    )
    repo = CampaignRepository(runtime.db)
    service = CampaignService(client=runtime.client, repo=repo, outbox=runtime.outbox, settings=settings)
    aggregator = Aggregator(
        client=runtime.client,
        repo=repo,
        outbox=runtime.outbox,
        sweep_grace_seconds=settings.aggregate_sweep_grace_seconds,
    )
    holder["service"] = service
    holder["aggregator"] = aggregator

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            {topics.CAMPAIGNS_ACTIONS: settings.actions_topic_partitions},
            replication_factor=settings.actions_topic_replication,
        )
        await runtime.start()
        service.lookups.start()
        background: list[asyncio.Task[None]] = []
        if role.runs_consumers:
            work = every(settings.schedule_sweep_seconds, service.apply_due_schedules, "applying schedules")
            sweep = every(settings.aggregate_sweep_seconds, aggregator.sweep, "counting missed actions")
            expire = every(
                settings.pending_sweep_seconds, service.erase_expired_pending, "erasing unconfirmed actions"
            )
            background = [asyncio.create_task(t) for t in (work, sweep, expire)]
        try:
            yield
        finally:
            for task in background:
                await stop_task(task)
            await service.lookups.stop()
            await runtime.stop()

    app = FastAPI(title="Campaigns service", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.campaigns = service
    app.state.aggregator = aggregator
    app.state.public_rate_limiter = RateLimiter(
        settings.public_rate_limit, settings.public_rate_window_seconds
    )
    app.state.token_verifier = verifier_for(settings, keys)
    app.state.principal_resolver = AccessProjection(runtime.db)
    install_common(
        app,
        service=SERVICE,
        checks={"mongodb": runtime.mongo_ready, "kafka": runtime.kafka_ready},
        tracer_provider=tracer_provider,
        max_body_bytes=MAX_BODY_BYTES,
    )
    install_cors(app)  # each link's organization's embed_origins may call its public API
    app.include_router(routes.router)
    app.include_router(public.router)
    app.include_router(advocacy.router)
    app.include_router(advocacy.public_router)
    app.include_router(targets.router)
    app.include_router(targets.public_router)
    app.include_router(pages.router)  # the supporter pages (HTML), campaigns.pages
    return app
