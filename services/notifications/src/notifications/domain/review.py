"""Endpoints whose creator lost access: which identity events put an endpoint under review, and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from common.auth import ROLE_RANK
from common.contracts import identity as idn
from common.events import EventPayload

# The role an endpoint's creator needs to keep for the endpoint to stay beyond question.
MANAGING_ROLE = "admin"


class ReviewReason(StrEnum):
    CREATOR_REMOVED = "creator_removed"
    CREATOR_DEMOTED = "creator_demoted"
    CREATOR_CLIENT_REVOKED = "creator_client_revoked"


REASON_TEXT = {
    ReviewReason.CREATOR_REMOVED: "the person who created it is no longer a member of the organization",
    ReviewReason.CREATOR_DEMOTED: "the person who created it is no longer an admin of the organization",
    ReviewReason.CREATOR_CLIENT_REVOKED: "the API client that created it was revoked",
}


@dataclass(frozen=True)
class LostAccess:
    """Endpoints of `org_id` created by `creator` (a user id or a client id) need review for `reason`."""

    org_id: UUID
    creator_kind: str  # "user" or "client"
    creator: str
    reason: ReviewReason


def lost_access(event: EventPayload) -> LostAccess | None:
    """Whom an identity event takes the power to manage webhooks from, if anyone."""
    if isinstance(event, idn.MembershipRevoked):
        return LostAccess(event.organization_id, "user", str(event.user_id), ReviewReason.CREATOR_REMOVED)
    if isinstance(event, idn.MembershipRoleChanged) and ROLE_RANK[event.role] < ROLE_RANK[MANAGING_ROLE]:
        return LostAccess(event.organization_id, "user", str(event.user_id), ReviewReason.CREATOR_DEMOTED)
    if isinstance(event, idn.ApiClientRevoked):
        return LostAccess(
            event.organization_id, "client", event.client_id, ReviewReason.CREATOR_CLIENT_REVOKED
        )
    return None


def creator_kind(created_by: str | None, recorded_kind: str | None) -> str | None:
    """The creator's kind; endpoints recorded before it was stored are told apart by the client id's prefix."""
    if recorded_kind is not None or created_by is None:
        return recorded_kind
    return "client" if created_by.startswith("cli_") else "user"
