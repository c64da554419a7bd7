"""JSON logs carry the trace and span ids of the current span."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from common.telemetry import JsonFormatter


def test_log_lines_are_json_with_the_current_trace_id() -> None:
    tracer = TracerProvider().get_tracer("test")
    record = logging.LogRecord("svc", logging.INFO, __file__, 1, "hello %s", ("world",), None)

    with tracer.start_as_current_span("work") as span:
        line = json.loads(JsonFormatter("identity").format(record))
        context = span.get_span_context()

    assert line["message"] == "hello world"
    assert line["service"] == "identity"
    assert line["level"] == "INFO"
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_log_lines_outside_a_span_have_no_trace_id() -> None:
    record = logging.LogRecord("svc", logging.WARNING, __file__, 1, "plain", (), None)

    assert "trace_id" not in json.loads(JsonFormatter("identity").format(record))
