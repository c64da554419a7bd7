"""The command line every service shares: serve | api | worker | relay, and spec export."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from common.kafka import consumed_envelopes
from common.runtime import Role
from common.settings import ServiceSettings
from common.telemetry import configure_logging

STARTUP_FAILURE = 3  # uvicorn's exit code when the server never started (port taken, lifespan failed)

ROLE_HELP = {
    Role.SERVE: "HTTP API, event consumers and the outbox relay in one process (the default)",
    Role.API: "the HTTP API only",
    Role.WORKER: "event consumers only (with health endpoints)",
    Role.RELAY: "the outbox relay only (with health endpoints)",
}


EMPTY_PAYLOAD = "#/components/schemas/EmptyPayload"


def asyncapi_document(app: FastAPI, *, title: str, version: str = "1.0.0") -> dict[str, Any]:
    broker = app.state.runtime.broker
    spec = AsyncAPI(broker, title=title, version=version, schema_version="3.0.0").to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    _describe_consumed(document, consumed_envelopes(broker))
    return document


def _describe_consumed(document: dict[str, Any], envelopes: Mapping[str, type[BaseModel]]) -> None:
    """Consumers' messages as the CloudEvents they carry, where FastStream saw only a raw message."""
    components = document.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    for key, message in components.get("messages", {}).items():
        if message.get("payload", {}).get("$ref") != EMPTY_PAYLOAD:
            continue
        envelope = next((e for t, e in envelopes.items() if key.startswith(f"{t}:")), None)
        if envelope is None:
            continue
        schema = envelope.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[envelope.__name__] = schema
        message["payload"] = {"$ref": f"#/components/schemas/{envelope.__name__}"}
    if EMPTY_PAYLOAD not in json.dumps(document):
        schemas.pop("EmptyPayload", None)
    components["schemas"] = dict(sorted(schemas.items()))


def server_config(app: FastAPI, settings: ServiceSettings, **overrides: Any) -> uvicorn.Config:
    """How every service is served: uvicorn with h11, whose parser stops buffering an oversized header section.

    httptools (uvicorn's choice when installed) buffers header fields without limit; h11 refuses a request
    line and headers that pass `h11_max_incomplete_event_size` before they are complete. That cap is twice
    the header limit that the app's own middleware answers with 431, so near misses get a problem document
    and only far larger requests are cut off by the parser (400, connection closed).
    """
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": "h11",
        "h11_max_incomplete_event_size": 2 * settings.http_max_header_bytes,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        **overrides,
    }
    return uvicorn.Config(app, **options)


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
    server = uvicorn.Server(server_config(app, settings))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else STARTUP_FAILURE
