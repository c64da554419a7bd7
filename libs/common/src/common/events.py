"""The CloudEvents 1.0 envelope (structured JSON mode) that every Kafka message carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import uuid_utils
from pydantic import BaseModel, ConfigDict, Field

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
SCHEMA_BASE = "https://coalition-platform.dev/schemas/events/"


def new_event_id() -> str:
    """A UUIDv7: unique, and sortable by creation time."""
    return str(uuid_utils.uuid7())


def utcnow() -> datetime:
    """Now, in UTC, at the millisecond precision MongoDB stores."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class EventPayload(BaseModel):
    """Base of every event's `data`; subclasses name their CloudEvents type and topic."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]
    schema_version: ClassVar[str] = "1"

    @classmethod
    def dataschema(cls) -> str:
        return f"{SCHEMA_BASE}{cls.event_type}/v{cls.schema_version}"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event; `orgid` and `coalitionid` are extension attributes."""

    model_config = ConfigDict(extra="allow")

    specversion: str = Field("1.0", pattern=r"^1\.0$")
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: datetime
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    orgid: str | None = None
    coalitionid: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)


def make_event(
    payload: EventPayload,
    *,
    source: str,
    subject: str,
    orgid: str | None = None,
    coalitionid: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    return CloudEvent(
        id=new_event_id(),
        source=source,
        type=payload.event_type,
        subject=subject,
        time=time or utcnow(),
        dataschema=payload.dataschema(),
        orgid=orgid,
        coalitionid=coalitionid,
        data=payload.model_dump(mode="json"),
    )


def source_urn(deployment_id: str, service: str) -> str:
    return f"urn:{deployment_id}:{service}"


def envelope_schema(name: str, payloads: tuple[type[EventPayload], ...]) -> type[CloudEvent]:
    """A CloudEvent model whose `type` and `data` list a topic's events, for AsyncAPI documents."""
    from typing import Literal, Union

    from pydantic import create_model

    types = tuple(p.event_type for p in payloads)
    data_type: Any = Union[payloads] if len(payloads) > 1 else payloads[0]  # noqa: UP007
    model: type[CloudEvent] = create_model(
        name,
        __base__=CloudEvent,
        type=(Literal[types], ...),  # type: ignore[arg-type]
        data=(data_type, ...),
    )
    return model
