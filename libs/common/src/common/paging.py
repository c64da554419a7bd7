"""Opaque keyset cursors for list endpoints: the last id of a page, URL-safe base64."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from common.errors import InvalidInput


def decode_cursor(value: str | None) -> UUID | None:
    """The id after which the next page starts; a 422 problem when the cursor was not one of ours."""
    if not value:
        return None
    try:
        return UUID(base64.urlsafe_b64decode(value.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("the cursor is malformed", field="cursor") from exc


def next_cursor(ids: list[UUID], limit: int) -> str | None:
    """The cursor of the page after one that returned `ids`, or None when it was the last page."""
    if len(ids) < limit or not ids:
        return None
    return base64.urlsafe_b64encode(str(ids[-1]).encode()).decode().rstrip("=")
