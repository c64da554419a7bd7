"""Composition root: builds the notifications service from its settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
from fastapi import FastAPI

from common.access import ACCESS_INDEXES, AccessProjection
from common.auth import KeySource, verifier_for
from common.events import source_urn, utcnow
from common.runtime import Role, Runtime, stop_task
from common.telemetry import configure_tracing
from common.web import install_common
from notifications.api import routes
from notifications.config import SERVICE, Settings
from notifications.delivery import DeliveryWorker
from notifications.intake import EventIntake
from notifications.mailer import Mailer
from notifications.messaging.publishers import declare_publishers
from notifications.messaging.subscribers import register_consumers
from notifications.notices import NoticeService
from notifications.outgoing import DecisionMakerMailer
from notifications.outgoing_intake import OutgoingIntake
from notifications.repository import EMAILS, INDEXES, MESSAGES, OUTGOING, Repository
from notifications.sent import SentMessages
from notifications.service import WebhookService
from notifications.ssrf import Resolver, system_resolver
from notifications.templates import Templates

log = logging.getLogger(__name__)

DESCRIPTION = """
Signed webhooks (Standard Webhooks) for partner organizations, e-mail and in-app notices for people.
Tokens come from the identity service. Errors are RFC 9457 `application/problem+json`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    role: Role = Role.SERVE,
    keys: KeySource | None = None,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """The app; `resolver` (host name lookups), `transport` (outgoing HTTP) and the `clock` of mail to
    decision-makers (when a digest is due) may be replaced in tests."""
    settings = settings or Settings()
    resolver = resolver or system_resolver
    tracer_provider = configure_tracing(SERVICE, settings)
    holder: dict[str, EventIntake] = {}
    # The workers' wake-up calls, by queue; filled once the workers exist (consumers are registered first).
    wake: dict[str, Callable[[str], None]] = {}
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
            lambda: holder["intake"],
            settings.kafka_consumer_max_attempts,
            wake,
            access_changed=lambda: webhooks.access_changed,
        ),
    )
    repo = Repository(runtime.db)
    notices = NoticeService(repo=repo, templates=Templates(settings.app_url))
    webhooks = WebhookService(
        repo=repo,
        settings=settings,
        resolver=resolver,
        notices=notices,
        on_queued=lambda: wake[MESSAGES]("api"),
    )
    outgoing = OutgoingIntake(
        repo=repo, notices=notices, outbox=lambda: runtime.outbox, settings=settings, clock=clock
    )
    holder["intake"] = EventIntake(repo=repo, notices=notices, settings=settings, outgoing=outgoing)
    delivery = DeliveryWorker(
        client=runtime.client,
        repo=repo,
        outbox=runtime.outbox,
        notices=notices,
        settings=settings,
        resolver=resolver,
        transport=transport,
    )
    mailer = Mailer(repo=repo, settings=settings)
    letters = DecisionMakerMailer(repo=repo, outbox=runtime.outbox, settings=settings, clock=clock)
    wake.update({MESSAGES: delivery.wake, EMAILS: mailer.wake, OUTGOING: letters.wake})

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        loops: list[asyncio.Task[None]] = []
        if role.runs_consumers:
            loops = [
                asyncio.create_task(delivery.run()),
                asyncio.create_task(mailer.run()),
                asyncio.create_task(letters.run()),
            ]
        try:
            yield
        finally:
            for task in loops:
                await stop_task(task)
            await delivery.close()
            await runtime.stop()

    app = FastAPI(title="Notifications service", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.repo = repo
    app.state.webhooks = webhooks
    app.state.notices = notices
    app.state.delivery = delivery
    app.state.mailer = mailer
    app.state.letters = letters
    app.state.sent_messages = SentMessages(repo=repo)
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
