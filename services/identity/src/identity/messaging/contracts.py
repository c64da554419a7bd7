"""Identity events not yet exported from `common.contracts.identity`; they move there once consumers know them.

They ride on `identity.users.v1`. No token is ever in them: the verification link is delivered by
whoever mails it without the token crossing Kafka (see docs/decisions/0010-identity-standards.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from common.contracts import topics
from common.events import EventPayload


class EmailVerificationRequested(EventPayload):
    """A user asked to prove they own their e-mail address; the single-use token is not in the event."""

    topic: ClassVar[str] = topics.IDENTITY_USERS
    event_type: ClassVar[str] = "identity.user.email_verification_requested"
    user_id: UUID
    verification_id: UUID
    email: str
    expires_at: datetime


class EmailVerified(EventPayload):
    topic: ClassVar[str] = topics.IDENTITY_USERS
    event_type: ClassVar[str] = "identity.user.email_verified"
    user_id: UUID
    email: str


USER_EVENTS: tuple[type[EventPayload], ...] = (EmailVerificationRequested, EmailVerified)
