"""Composition root: builds the identity service from its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from common.auth import TokenVerifier
from common.events import source_urn
from common.runtime import Role, Runtime
from common.telemetry import configure_tracing
from common.web import install_common
from identity.api import admin, oauth, organizations, users
from identity.config import SERVICE, Settings
from identity.domain.oauth import OAuthError
from identity.keys import SigningKeys
from identity.messaging.publishers import declare_publishers
from identity.repository import INDEXES, IdentityRepository
from identity.security import Hasher, KeyVault
from identity.service import IdentityService

DESCRIPTION = """
Organizations, users, org memberships and roles, API clients, and the tokens that other services
verify against `/.well-known/jwks.json`. Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None, *, role: Role = Role.SERVE) -> FastAPI:
    settings = settings or Settings()
    tracer_provider = configure_tracing(SERVICE, settings)
    runtime = Runtime.build(
        service=SERVICE,
        mongo_settings=settings,
        kafka_settings=settings,
        source=source_urn(settings.deployment_id, SERVICE),
        role=role,
        tracer_provider=tracer_provider,
        indexes=INDEXES,
        declare_publishers=declare_publishers,
    )
    ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    keys = SigningKeys(
        runtime.db,
        KeyVault(settings.signing_key_secret),
        publish_retired_for=ttl + timedelta(minutes=5),
    )
    service = IdentityService(
        client=runtime.client,
        repo=IdentityRepository(runtime.db),
        outbox=runtime.outbox,
        keys=keys,
        hasher=Hasher(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib),
        settings=settings,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            await keys.ensure_current(max_age=timedelta(days=settings.key_rotation_days))
            await service.bootstrap_admin()
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Identity service", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.identity = service
    app.state.token_verifier = TokenVerifier(
        keys, issuer=settings.token_issuer, audience=settings.audience, leeway=30
    )
    install_common(
        app,
        service=SERVICE,
        checks={"mongodb": runtime.mongo_ready, "kafka": runtime.kafka_ready},
        tracer_provider=tracer_provider,
    )
    app.add_exception_handler(OAuthError, oauth.oauth_error_response)
    for router in (
        oauth.router,
        users.router,
        organizations.router,
        organizations.invitations_router,
        admin.router,
    ):
        app.include_router(router)
    return app
