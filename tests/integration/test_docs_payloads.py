"""Every message in the committed AsyncAPI documents has a real payload schema, consumed ones too."""

from __future__ import annotations

import json
from typing import Any

import pytest

from launcher import ROOT

SERVICES = ["identity", "coalition", "campaigns", "notifications"]


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: Any = document
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return _resolved(document, found)


def _empty(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or not (
        schema.get("properties") or schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    )


@pytest.mark.parametrize("service", SERVICES)
def test_no_message_payload_is_empty(service: str) -> None:
    document = json.loads((ROOT / "docs" / "asyncapi" / f"{service}.json").read_text())
    messages = document["components"]["messages"]

    empty = [name for name, message in messages.items() if _empty(_resolved(document, message["payload"]))]

    assert messages, f"{service} documents no messages"
    assert not empty, f"{service}: messages without a payload schema: {empty}"
    assert "EmptyPayload" not in document["components"].get("schemas", {})
