"""The command line every service shares: serve | api | worker | relay, and spec export."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI
from faststream.specification import AsyncAPI

from common.runtime import Role
from common.settings import ServiceSettings
from common.telemetry import configure_logging

ROLE_HELP = {
    Role.SERVE: "HTTP API, event consumers and the outbox relay in one process (the default)",
    Role.API: "the HTTP API only",
    Role.WORKER: "event consumers only (with health endpoints)",
    Role.RELAY: "the outbox relay only (with health endpoints)",
}


def asyncapi_document(app: FastAPI, *, title: str, version: str = "1.0.0") -> dict[str, Any]:
    broker = app.state.runtime.broker
    spec = AsyncAPI(broker, title=title, version=version, schema_version="3.0.0").to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    return document


def run(
    argv: Sequence[str] | None,
    *,
    service: str,
    settings_factory: Callable[..., ServiceSettings],
    app_factory: Callable[..., FastAPI],
) -> int:
    parser = argparse.ArgumentParser(prog=service, description=f"The {service} service.")
    commands = parser.add_subparsers(dest="command")
    for role, text in ROLE_HELP.items():
        commands.add_parser(role.value, help=text)
    commands.add_parser("openapi", help="print the OpenAPI document")
    commands.add_parser("asyncapi", help="print the AsyncAPI document")
    args = parser.parse_args(argv)
    command = args.command or Role.SERVE.value

    if command in ("openapi", "asyncapi"):
        # The documents do not depend on the deployment: build them from development defaults.
        app = app_factory(settings_factory(environment="development"))
        document = (
            app.openapi() if command == "openapi" else asyncapi_document(app, title=f"{service} events")
        )
        print(json.dumps(document, indent=2, sort_keys=True))  # noqa: T201
        return 0
    settings = settings_factory()
    configure_logging(service, settings.log_level)
    app = app_factory(settings, role=Role(command))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0
