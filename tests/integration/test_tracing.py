"""One supporter action is one trace, across every service, down to the partner's webhook request.

The four services run as separate processes (as `make run` starts them) exporting their spans over
OTLP/HTTP to a small receiver in this test, which decodes them with `opentelemetry-proto`. One public
action is then followed: the HTTP request to campaigns, its outbox record relayed to Kafka, the
aggregator counting it, notifications consuming it and queuing the webhook message, and the webhook
attempt, a CLIENT span whose `traceparent` header the partner receives. Every line the processes log is
a JSON object, and the lines written while handling the action carry its trace id.
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from common.embedded import free_port
from common.testing.altcha import solve
from eventually import eventually
from faults.platform import Organizer, post_action
from faults.receiver import Receiver
from faults.stack import FaultStack

SERVICES = ("identity", "coalition", "campaigns", "notifications")


@dataclass(frozen=True)
class Span:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int


class OtlpReceiver:
    """OTLP/HTTP traces endpoint (`POST /v1/traces`, protobuf) keeping every span it is sent."""

    def __init__(self) -> None:
        self.port = free_port()
        self.spans: list[Span] = []
        lock = threading.Lock()
        spans = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.headers.get("content-encoding") == "gzip":
                    raw = gzip.decompress(raw)
                request = ExportTraceServiceRequest()
                request.ParseFromString(raw)
                with lock:
                    for resource_spans in request.resource_spans:
                        attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                        for scope_spans in resource_spans.scope_spans:
                            spans.extend(
                                Span(
                                    service=attributes.get("service.name", ""),
                                    trace_id=s.trace_id.hex(),
                                    span_id=s.span_id.hex(),
                                    parent_id=s.parent_span_id.hex(),
                                    name=s.name,
                                    kind=s.kind,
                                )
                                for s in scope_spans.spans
                            )
                body = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def of_trace(self, trace_id: str) -> list[Span]:
        return [s for s in list(self.spans) if s.trace_id == trace_id]


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def partner() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def traced_stack(tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver) -> Iterator[FaultStack]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export every 0.2 s rather than 5 s
        **{f"{name.upper()}_LOG_LEVEL": "INFO" for name in SERVICES},
    }
    stack = FaultStack(tmp_path_factory.mktemp("tracing"), env)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def trace_id_of(traceparent: str) -> str:
    version, trace_id, _, _ = traceparent.split("-")
    assert version == "00"
    return trace_id


async def test_one_public_action_is_one_trace_from_request_to_webhook(
    traced_stack: FaultStack, otlp: OtlpReceiver, partner: Receiver
) -> None:
    organizer = Organizer(
        identity=traced_stack.url("identity"),
        campaigns=traced_stack.url("campaigns"),
        notifications=traced_stack.url("notifications"),
    )
    org = organizer.organization(f"Tracing patients {uuid.uuid4().hex[:6]}")
    campaign = organizer.petition(org, "Trace every newborn screening", 10)
    path = f"/hooks/tracing/{org}"
    organizer.webhook(org, partner.url(path), campaign.id, ["campaigns.action.recorded"])
    organizer.close()

    async with httpx.AsyncClient(base_url=traced_stack.url("campaigns"), timeout=30) as client:
        # The stack requires the proof-of-work, as `make run` does: the supporter solves it first.
        solved = solve((await client.get("/v1/public/challenge")).json())
        response = await post_action(
            client,
            campaign,
            email=f"t-{uuid.uuid4().hex[:8]}@example.net",
            idempotency_key=uuid.uuid4().hex,
            altcha=solved,
        )
    assert response.status_code == 201, response.text
    action_id = response.json()["action"]["id"]

    def delivered() -> bool:
        return any(r.body["data"].get("action_id") == action_id for r in partner.accepted(path))

    await eventually(delivered, within=90, interval=0.2, message="the webhook delivery")
    delivery = next(r for r in partner.accepted(path) if r.body["data"].get("action_id") == action_id)
    assert delivery.traceparent, "the webhook request carries no traceparent"
    trace_id = trace_id_of(delivery.traceparent)

    expected = {
        ("campaigns", ProtoSpan.SPAN_KIND_SERVER),  # the public HTTP request
        ("campaigns", ProtoSpan.SPAN_KIND_INTERNAL),  # the outbox relay
        ("campaigns", ProtoSpan.SPAN_KIND_PRODUCER),  # the Kafka publish
        ("notifications", ProtoSpan.SPAN_KIND_CONSUMER),  # notifications consuming the event
        ("notifications", ProtoSpan.SPAN_KIND_CLIENT),  # the webhook request
    }

    def whole() -> bool:
        spans = otlp.of_trace(trace_id)
        kinds = {(s.service, s.kind) for s in spans}
        names = {s.name for s in spans}
        return (
            expected <= kinds and "aggregate campaigns.action.recorded" in names and "POST webhook" in names
        )

    await eventually(whole, within=60, interval=0.2, message=f"every span of trace {trace_id}")
    spans = otlp.of_trace(trace_id)
    by_id = {s.span_id: s for s in spans}
    client = next(s for s in spans if s.name == "POST webhook")
    assert client.kind == ProtoSpan.SPAN_KIND_CLIENT
    assert client.span_id == delivery.traceparent.split("-")[2], "traceparent is not the client span's"
    # The client span descends, span by span, from the public request's server span.
    ancestor = client
    chain = [ancestor]
    while ancestor.parent_id in by_id:
        ancestor = by_id[ancestor.parent_id]
        chain.append(ancestor)
    assert ancestor.service == "campaigns", chain
    assert ancestor.kind == ProtoSpan.SPAN_KIND_SERVER, chain
    assert ancestor.parent_id == "", chain
    assert {s.service for s in chain} == {"campaigns", "notifications"}
    # Every service exported its spans to the same collector.
    await eventually(
        lambda: {s.service for s in list(otlp.spans)} >= set(SERVICES), within=30, message="every service"
    )

    # Every line of every process's log is JSON; those about this action carry its trace id.
    lines = traced_stack.log_path.read_text().splitlines()
    assert lines
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line[:200]!r}")
    assert all({"time", "level", "service", "message"} <= set(e) for e in entries)
    assert {e["service"] for e in entries} >= {*SERVICES, "smtp-sink"}
    assert any(e.get("trace_id") == trace_id for e in entries), "no log line of the action's trace"
