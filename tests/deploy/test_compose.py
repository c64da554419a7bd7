"""The compose file is valid against the compose specification's JSON schema, and its opt-in observability
profile brings an OpenTelemetry collector, a trace viewer and a mail catcher.

The schema is the copy vendored in the pinned `check-jsonschema` package (`vendor/compose-spec.json`, from the
compose-spec project), so the test does not depend on the network.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from launcher import ROOT

COMPOSE = ROOT / "deploy/compose/docker-compose.yml"
PLATFORM = ("identity", "coalition", "campaigns", "notifications")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    document: dict[str, Any] = json.loads(vendored.read_text())
    return document


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def _errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_is_valid_against_the_compose_specification(
    schema: dict[str, Any], compose: dict[str, Any]
) -> None:
    assert _errors(schema, compose) == []


def test_the_schema_refuses_what_compose_would_refuse(
    schema: dict[str, Any], compose: dict[str, Any]
) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["identity"]["restart_policy"] = "always"  # not a compose key
    broken["services"]["campaigns"]["ports"] = "8003:8003"  # a list, not a string

    errors = _errors(schema, broken)

    assert any("restart_policy" in e for e in errors)
    assert any(e.startswith("services/campaigns/ports") for e in errors)


def test_the_observability_profile_adds_a_collector_a_trace_viewer_and_a_mail_catcher(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    observability = {name for name, s in services.items() if "observability" in s.get("profiles", [])}

    assert observability == {"otel-collector", "jaeger", "mailpit"}
    assert (ROOT / "deploy/compose/otel-collector.yaml").exists()
    collector = yaml.safe_load((ROOT / "deploy/compose/otel-collector.yaml").read_text())
    assert collector["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert "4318" in collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    for name in PLATFORM:
        assert "profiles" not in services[name], f"{name} must run without a profile"
        assert (
            services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
        )
