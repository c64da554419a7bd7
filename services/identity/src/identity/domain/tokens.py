"""What access tokens say and which scopes API clients may hold (the table is `common.scopes`)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from common.errors import InvalidInput
from common.scopes import CLIENT_SCOPES

# A user's token acts for the user on every endpoint the user may call; there is one scope for that.
USER_SCOPES: dict[str, str] = {"profile": "Act as the signed-in user"}
DEFAULT_USER_SCOPE = "profile"


def validate_client_scopes(scopes: Iterable[str]) -> list[str]:
    requested = sorted(set(scopes))
    unknown = [s for s in requested if s not in CLIENT_SCOPES]
    if unknown:
        raise InvalidInput(f"unknown scopes: {', '.join(unknown)}", known_scopes=sorted(CLIENT_SCOPES))
    if not requested:
        raise InvalidInput("an API client needs at least one scope", known_scopes=sorted(CLIENT_SCOPES))
    return requested


def narrow_scopes(granted: Iterable[str], requested: str | None) -> list[str]:
    """The scopes a token gets: the requested subset of what was granted (all of it when none asked)."""
    allowed = set(granted)
    if not requested or not requested.split():
        return sorted(allowed)
    wanted = set(requested.split())
    if not wanted <= allowed:
        raise InvalidInput("the requested scope exceeds what the client was granted", error="invalid_scope")
    return sorted(wanted)


def org_roles_claim(memberships: Iterable[tuple[UUID, str]]) -> dict[str, str]:
    return {str(org_id): role for org_id, role in memberships}
