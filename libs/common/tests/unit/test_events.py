"""The CloudEvents envelope: required attributes, UUIDv7 ids, round trip through bytes."""

from __future__ import annotations

import json
import uuid
from typing import ClassVar

import pytest
from pydantic import ValidationError

from common.events import CloudEvent, EventPayload, envelope_schema, make_event, new_event_id


class Happened(EventPayload):
    event_type: ClassVar[str] = "test.thing.happened"
    topic: ClassVar[str] = "test.things.v1"
    thing_id: uuid.UUID


def test_event_ids_are_time_ordered_uuid7() -> None:
    first, second = new_event_id(), new_event_id()

    assert uuid.UUID(first).version == 7
    assert first < second


def test_envelope_carries_cloudevents_attributes_and_round_trips() -> None:
    thing = uuid.uuid4()
    event = make_event(
        Happened(thing_id=thing), source="urn:local:test", subject=f"things/{thing}", orgid="o1"
    )

    raw = json.loads(event.to_bytes())
    again = CloudEvent.from_bytes(event.to_bytes())

    assert raw["specversion"] == "1.0"
    assert raw["type"] == "test.thing.happened"
    assert raw["source"] == "urn:local:test"
    assert raw["dataschema"].endswith("test.thing.happened/v1")
    assert raw["orgid"] == "o1"
    assert "coalitionid" not in raw
    assert raw["data"] == {"thing_id": str(thing)}
    assert again == event


@pytest.mark.parametrize("missing", ["id", "source", "type", "time", "specversion"])
def test_envelope_without_a_required_attribute_is_invalid(missing: str) -> None:
    raw = json.loads(make_event(Happened(thing_id=uuid.uuid4()), source="urn:x", subject="s").to_bytes())
    raw.pop(missing)
    if missing == "specversion":
        raw["specversion"] = "0.3"

    with pytest.raises(ValidationError):
        CloudEvent.model_validate(raw)


def test_envelope_schema_lists_the_topic_types() -> None:
    model = envelope_schema("ThingEvent", (Happened,))
    event = make_event(Happened(thing_id=uuid.uuid4()), source="urn:x", subject="s")

    assert model.model_validate(event.model_dump()).type == "test.thing.happened"
    with pytest.raises(ValidationError):
        model.model_validate({**event.model_dump(), "type": "test.other"})
