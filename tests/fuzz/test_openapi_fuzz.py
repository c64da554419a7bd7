"""Every service answers as its committed OpenAPI document says, for requests generated from that document.

Schemathesis draws valid and invalid requests for each operation; each is sent to the app in-process, with
a signed-in user's token where the operation is secured and anonymously where it is public, and the answer
is checked: never a 5xx, a documented status code and content type, and a body that fits the schema.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fuzz.targets import Target
from launcher import ROOT

SERVICES = ["identity", "coalition", "campaigns", "notifications"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = settings(
    max_examples=10,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
# Left out: the schemathesis headers, and what the client itself decides (compression, connection).
DROPPED_HEADERS = {
    "user-agent",
    "accept-encoding",
    "connection",
    "x-schemathesis-testcaseid",
    "content-length",
}


def _operations(service: str) -> list[Any]:
    document = json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


def _takes_input(operation: Any) -> bool:
    """Whether there is anything to get wrong: parameters or a body (else no invalid request exists)."""
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


OPERATIONS = [
    pytest.param(
        service, operation, mode, id=f"{mode.value}-{service}:{operation.method.upper()} {operation.path}"
    )
    for service in SERVICES
    for operation in _operations(service)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _takes_input(operation)
]


def _secured(operation: Any) -> bool:
    return bool(operation.definition.raw.get("security"))


def _request(case: Any, target: Target, *, known_ids: bool) -> httpx.Request:
    """The case as bytes on the wire (as schemathesis would send it), with the caller's credentials."""
    if known_ids:
        case.path_parameters = {
            name: target.ids.get(name, value) for name, value in (case.path_parameters or {}).items()
        }
    kwargs = case.as_transport_kwargs(base_url=str(target.http.base_url).rstrip("/"))
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
        cookies=kwargs.get("cookies"),
    ).prepare()
    headers = {k: v for k, v in prepared.headers.items() if k.lower() not in DROPPED_HEADERS}
    if _secured(case.operation):
        headers["Authorization"] = f"Bearer {target.user.token}"
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return target.http.build_request(
        prepared.method or "GET", prepared.url or "", headers=headers, content=body
    )


@pytest.mark.parametrize(("service", "operation", "mode"), OPERATIONS)
@EXAMPLES
@given(data=st.data())
async def test_answers_as_documented(
    target: Target, service: str, operation: Any, mode: GenerationMode, data: st.DataObject
) -> None:
    case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
    known_ids = data.draw(st.booleans(), label="known ids")
    try:
        sent = _request(case, target, known_ids=known_ids)
    except (httpx.InvalidURL, UnicodeEncodeError, ValueError):
        return  # headers or URLs no HTTP client can send
    response = await target.http.send(sent)

    case.validate_response(response, checks=CHECKS)
