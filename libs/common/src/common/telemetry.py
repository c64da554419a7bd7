"""OpenTelemetry tracing and JSON logs that carry the trace id."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

from common.settings import TelemetrySettings

_configured: TracerProvider | None = None
FASTSTREAM_FIELDS = ("topic", "group_id", "message_id")


def configure_tracing(service: str, settings: TelemetrySettings) -> TracerProvider:
    """The process-wide tracer provider (set once; later services in one process share it)."""
    global _configured
    if _configured is not None:
        return _configured
    exporting = bool(settings.otel_exporter_otlp_endpoint or settings.otel_traces_console)
    # With nowhere to send spans, record none (unless a sampled parent asks for it): trace context is
    # still created, propagated and logged, but a request no longer pays for building dozens of
    # spans (one per MongoDB command) that would be thrown away.
    sampler = None if exporting else ParentBased(ALWAYS_OFF)
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.otel_traces_console:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    if exporting:
        # A command listener on every MongoDB operation is worth its cost only when spans are kept.
        PymongoInstrumentor().instrument(tracer_provider=provider)
    _configured = provider
    return provider


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the current trace and span ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FASTSTREAM_FIELDS:  # which topic, group and message a FastStream line is about
            value = getattr(record, field, None)
            if value:
                entry[field] = value
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream installs a coloured text handler on its "faststream" logger at import; its lines (and
    # those of the brokers' "faststream.kafka" logger) go through the JSON handler instead.
    faststream = logging.getLogger("faststream")
    faststream.handlers[:] = []
    faststream.propagate = True
    faststream.setLevel(logging.NOTSET)
    for noisy in ("aiokafka", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
