"""Composition root: builds the coalition service from its settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from coalition.api import routes
from coalition.config import SERVICE, Settings
from coalition.messaging.publishers import declare_publishers
from coalition.messaging.subscribers import register_consumers
from coalition.repository import INDEXES, CoalitionRepository
from coalition.service import CoalitionService
from common.access import ACCESS_INDEXES, AccessProjection
from common.auth import KeySource, verifier_for
from common.events import source_urn
from common.runtime import Role, Runtime, every, stop_task
from common.telemetry import configure_tracing
from common.web import install_common

log = logging.getLogger(__name__)

DESCRIPTION = """
Coalitions of organizations, their members' roles and lifecycle, and data-sharing agreements. Tokens
come from the identity service. Errors are RFC 9457 `application/problem+json`.
"""


def create_app(
    settings: Settings | None = None, *, role: Role = Role.SERVE, keys: KeySource | None = None
) -> FastAPI:
    settings = settings or Settings()
    tracer_provider = configure_tracing(SERVICE, settings)
    holder: dict[str, CoalitionService] = {}
    runtime = Runtime.build(
        service=SERVICE,
        mongo_settings=settings,
        kafka_settings=settings,
        source=source_urn(settings.deployment_id, SERVICE),
        role=role,
        tracer_provider=tracer_provider,
        indexes=(*INDEXES, *ACCESS_INDEXES),
        declare_publishers=declare_publishers,
        register_consumers=register_consumers(
            lambda: holder["service"], settings.kafka_consumer_max_attempts
        ),
    )
    service = CoalitionService(
        client=runtime.client, repo=CoalitionRepository(runtime.db), outbox=runtime.outbox, settings=settings
    )
    holder["service"] = service

    async def sweeping() -> None:
        # Agreements recorded before member acceptance existed are reset at once on start-up, then
        # with every sweep (a replica of the previous version may still record one during an upgrade).
        try:
            await service.require_member_acceptance()
        except Exception:
            log.exception("resetting agreements without the member's acceptance failed; will retry")
        await every(settings.expiry_sweep_seconds, service.sweep, "the sweep (invitations, agreements)")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        sweeper = None
        if role.runs_consumers:
            sweeper = asyncio.create_task(sweeping())
        try:
            yield
        finally:
            await stop_task(sweeper)
            await runtime.stop()

    app = FastAPI(title="Coalition service", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.coalition = service
    app.state.token_verifier = verifier_for(settings, keys)
    app.state.principal_resolver = AccessProjection(runtime.db)
    install_common(
        app,
        service=SERVICE,
        checks={"mongodb": runtime.mongo_ready, "kafka": runtime.kafka_ready},
        tracer_provider=tracer_provider,
    )
    app.include_router(routes.router)
    return app
