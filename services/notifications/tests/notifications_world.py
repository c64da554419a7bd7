"""Test helpers for the notifications service: a restartable running stack, and arranging situations."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from identity_api import IdentityApi, Person
from webhook_receiver import Receiver

from common.auth import KeySource
from common.events import CloudEvent, EventPayload, make_event, utcnow
from common.mongo import Database, Document
from common.runtime import Role
from eventually import eventually
from notifications.app import create_app
from notifications.config import Settings
from notifications.delivery import DeliveryWorker
from notifications.mailer import Mailer
from notifications.messaging.subscribers import ACTIONS_CONSUMER, CONSUMERS
from notifications.notices import NoticeService
from notifications.outgoing import DecisionMakerMailer
from notifications.smtp_sink import SmtpSink
from notifications.ssrf import Resolver

BASE_URL = "http://notifications.test"
TEST_SOURCE = "urn:tests:stand-in"


class MovableClock:
    """The clock of mail to decision-makers: real time plus an offset a test moves forward (so that a
    digest falls due at once instead of after its period); shared by every replica of the stack."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class NotificationsStack:
    """The service under test (role serve), which a test may restart, plus extra replicas on demand."""

    def __init__(self, settings: Settings, *, keys: KeySource, resolver: Resolver) -> None:
        self.clock = MovableClock()
        self.settings = settings
        self.keys = keys
        self.resolver = resolver
        self.app: FastAPI | None = None
        self.http: httpx.AsyncClient = httpx.AsyncClient(base_url=BASE_URL)
        self._stack: contextlib.AsyncExitStack | None = None

    def build(self, role: Role = Role.SERVE) -> FastAPI:
        return create_app(self.settings, role=role, keys=self.keys, resolver=self.resolver, clock=self.clock)

    async def start(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self.app = self.build()
        await self._stack.enter_async_context(
            LifespanManager(self.app, startup_timeout=60, shutdown_timeout=90)
        )
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        self.http = await self._stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        )

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @contextlib.asynccontextmanager
    async def replica(self, role: Role = Role.WORKER) -> Any:
        app = self.build(role)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=90):
            yield app

    @contextlib.asynccontextmanager
    async def serving_replica(self) -> AsyncIterator[httpx.AsyncClient]:
        """A second replica running every role, and an HTTP client of its API."""
        async with self.replica(Role.SERVE) as app:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
                yield http

    @property
    def db(self) -> Database:
        assert self.app is not None
        db: Database = self.app.state.runtime.db
        return db

    @property
    def delivery(self) -> DeliveryWorker:
        assert self.app is not None
        worker: DeliveryWorker = self.app.state.delivery
        return worker

    @property
    def mailer(self) -> Mailer:
        assert self.app is not None
        mailer: Mailer = self.app.state.mailer
        return mailer

    @property
    def letters(self) -> DecisionMakerMailer:
        assert self.app is not None
        letters: DecisionMakerMailer = self.app.state.letters
        return letters

    @property
    def notices(self) -> NoticeService:
        assert self.app is not None
        notices: NoticeService = self.app.state.notices
        return notices


@dataclass
class Org:
    id: str
    admin: Person

    @property
    def headers(self) -> dict[str, str]:
        return self.admin.headers

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(self.id)


class NotificationsWorld:
    def __init__(
        self,
        identity: IdentityApi,
        stack: NotificationsStack,
        receiver: Receiver,
        sink: SmtpSink,
        producer: KafkaBroker,
        dns: dict[str, list[str]],
    ) -> None:
        self.identity = identity
        self.stack = stack
        self.receiver = receiver
        self.sink = sink
        self.producer = producer
        self.dns = dns

    @property
    def http(self) -> httpx.AsyncClient:
        return self.stack.http

    @property
    def db(self) -> Database:
        return self.stack.db

    # ---- arranging -------------------------------------------------------------------------------
    async def org(self, name: str = "org") -> Org:
        """An organization registered in identity, its owner known here as a recipient."""
        admin = await self.identity.person(name)
        org = await self.identity.organization(admin, name=f"{name.title()} Association")

        async def known() -> bool:
            return (
                await self.db["org_members"].find_one(
                    {"org_id": uuid.UUID(org["id"]), "user_id": uuid.UUID(admin.id)}
                )
                is not None
                and await self.db["users"].find_one({"_id": uuid.UUID(admin.id), "email": {"$exists": True}})
                is not None
            )

        await eventually(known, within=60, message=f"{name}'s owner in the projections")
        return Org(org["id"], admin)

    async def endpoint(self, org: Org, path: str, **fields: Any) -> dict[str, Any]:
        body = {"url": self.receiver.url(path), "event_types": ["*"], **fields}
        response = await self.http.post(
            f"/v1/organizations/{org.id}/webhooks", json=body, headers=org.headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def publish(self, payload: EventPayload, *, key: str | None = None) -> CloudEvent:
        """Publish an event of another service to its real topic, as that service's relay would."""
        subject = str(getattr(payload, "campaign_id", None) or getattr(payload, "coalition_id", ""))
        event = make_event(payload, source=TEST_SOURCE, subject=subject)
        await self.producer.publish(
            event.to_bytes(),
            topic=payload.topic,
            key=(key or subject).encode(),
            headers={"content-type": "application/cloudevents+json"},
        )
        return event

    async def processed(self, event: CloudEvent) -> None:
        """Wait until the service's consumers recorded `event` in their inbox."""
        ids = [f"{name}:{event.id}" for name in (*CONSUMERS, ACTIONS_CONSUMER)]

        async def seen() -> bool:
            return await self.db["inbox"].find_one({"_id": {"$in": ids}}) is not None

        await eventually(seen, within=60, message=f"{event.type} {event.id} consumed")

    async def publish_and_wait(self, payload: EventPayload) -> CloudEvent:
        event = await self.publish(payload)
        await self.processed(event)
        return event

    # ---- observing -------------------------------------------------------------------------------
    async def message(self, endpoint_id: str, event_id: str) -> Document | None:
        return await self.db["messages"].find_one(
            {"endpoint_id": uuid.UUID(endpoint_id), "event_id": event_id}
        )

    async def message_by_id(self, message_id: str) -> Document:
        doc = await self.db["messages"].find_one({"_id": uuid.UUID(message_id)})
        assert doc is not None
        return doc

    async def wait_status(self, message_id: str, status: str, within: float = 60) -> Document:
        async def done() -> bool:
            return (await self.message_by_id(message_id))["status"] == status

        await eventually(done, within=within, message=f"message {message_id} {status}")
        return await self.message_by_id(message_id)

    async def send_test(
        self, org: Org, endpoint_id: str, *, via: httpx.AsyncClient | None = None
    ) -> dict[str, Any]:
        """Queue a test message through this stack's API (or another replica's, `via`)."""
        response = await (via or self.http).post(f"/v1/webhooks/{endpoint_id}/test", headers=org.headers)
        assert response.status_code == 202, response.text
        return dict(response.json())

    async def published(self, event_type: str, **match: Any) -> list[Document]:
        """Events this service relayed to Kafka (outbox records marked sent), matching `data` fields."""
        query: dict[str, Any] = {"event.type": event_type, "status": "sent"}
        query.update({f"event.data.{k}": v for k, v in match.items()})
        return await self.db["outbox"].find(query).to_list()

    def mails_to(self, address: str, *, account: bool = False) -> list[Any]:
        """Mail the sink received for `address`: notices, or with `account` the account mail (e-mail
        verification links, which every organization owner now receives on registering)."""
        return [m for m in self.sink.to(address) if (m.message["X-Notice-Category"] == "account") == account]
