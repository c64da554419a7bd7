"""The services as their own code builds them: consumer groups and the topics they read, and projections.

Nothing here repeats a group or topic name: each service's app is built (as a worker, never started) and
its Kafka subscribers are read, so the CLI follows the code.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from coalitionctl.config import SERVICES, CtlSettings
from common.access import CLIENTS, MEMBERSHIPS, ORGS
from common.runtime import Role


@dataclass(frozen=True)
class Group:
    """A consumer group of a service and the topics it reads."""

    service: str
    name: str
    topics: tuple[str, ...]
    handler: Callable[[Any], Awaitable[None]]
    batch: bool


@dataclass(frozen=True)
class Projection:
    """A read model a service keeps from other services' events: rebuilt by dropping and re-consuming it."""

    service: str
    name: str
    group: str
    collections: tuple[str, ...]
    description: str


# Projections whose consumer only keeps the read model (or whose effects are idempotent on a replay). The
# notifications consumers that deliver webhooks and e-mails and the campaigns aggregator are not projections.
def _access(service: str) -> Projection:
    """Every service but identity projects identity's memberships, API clients and organizations' status."""
    return Projection(
        service,
        "access",
        f"{service}-access",
        (MEMBERSHIPS, CLIENTS, ORGS),
        "memberships, API clients, org status",
    )


PROJECTIONS = {
    ("coalition", "organizations"): Projection(
        "coalition",
        "organizations",
        "coalition-organizations",
        ("organizations",),
        "identity's organizations",
    ),
    ("campaigns", "coalitions"): Projection(
        "campaigns",
        "coalitions",
        "campaigns-coalitions",
        ("coalitions", "memberships"),
        "coalitions and their members",
    ),
    **{(service, "access"): _access(service) for service in ("coalition", "campaigns", "notifications")},
}


def service_settings(service: str, settings: CtlSettings, **overrides: Any) -> Any:
    """The service's own settings from its environment (as in its pod), where to reach MongoDB and Kafka
    taken from the CLI's settings when they were given to it, or when the service's environment has none."""
    module = importlib.import_module(f"{service}.config")
    own = module.Settings(**overrides)
    given = settings.model_fields_set
    update: dict[str, Any] = {}
    for cli_field, service_field, value in (
        ("mongodb_url", "mongodb_url", settings.mongodb_url),
        ("kafka_bootstrap_servers", "kafka_bootstrap_servers", settings.kafka_bootstrap_servers),
        (f"{service}_database", "mongodb_database", settings.database(service)),
    ):
        if cli_field in given or service_field not in own.model_fields_set:
            update[service_field] = value
    return module.Settings(**overrides, **update)


def worker_app(service: str, settings: CtlSettings, **overrides: Any) -> FastAPI:
    """The service's app as its worker role builds it (not started: nothing connects yet)."""
    module = importlib.import_module(f"{service}.app")
    app: FastAPI = module.create_app(service_settings(service, settings, **overrides), role=Role.WORKER)
    return app


def groups_of(app: FastAPI, service: str) -> list[Group]:
    found: list[Group] = []
    for subscriber in app.state.runtime.broker.subscribers:
        topics = tuple(str(t) for t in subscriber.topic_names) if hasattr(subscriber, "topic_names") else ()
        call = subscriber.calls[0].handler
        found.append(
            Group(
                service=service,
                name=str(subscriber.group_id),
                topics=topics,
                handler=call._original_call,
                batch="batch" in type(subscriber).__name__.lower(),
            )
        )
    return found


def all_groups(settings: CtlSettings) -> list[Group]:
    """Every consumer group of every service (from development settings: group names do not vary)."""
    found: list[Group] = []
    for service in SERVICES:
        if service == "identity":
            continue  # identity consumes nothing
        found += groups_of(worker_app(service, settings, environment="development"), service)
    return found
