"""Org membership of users: roles, who may grant which, and the always-one-owner rule."""

from __future__ import annotations

from enum import StrEnum

from common.errors import Conflict, Forbidden


class OrgRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ORGANIZER = "organizer"
    MEMBER = "member"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: OrgRole) -> bool:
        return self.rank >= other.rank


_RANK = {OrgRole.MEMBER: 0, OrgRole.ORGANIZER: 1, OrgRole.ADMIN: 2, OrgRole.OWNER: 3}


def check_can_grant(actor: OrgRole | None, role: OrgRole, *, platform_admin: bool = False) -> None:
    """Admins grant up to admin; only owners grant owner."""
    if platform_admin:
        return
    if actor is None or not actor.at_least(OrgRole.ADMIN):
        raise Forbidden("only the organization's admins and owners manage its members")
    if role is OrgRole.OWNER and actor is not OrgRole.OWNER:
        raise Forbidden("only an owner can make someone an owner")


def check_role_change(
    actor: OrgRole | None,
    *,
    current: OrgRole,
    new: OrgRole,
    owner_count: int,
    platform_admin: bool = False,
) -> None:
    """May `actor` move a member from `current` to `new`?"""
    check_can_grant(actor, new, platform_admin=platform_admin)
    if current is OrgRole.OWNER and not platform_admin and actor is not OrgRole.OWNER:
        raise Forbidden("only an owner can change an owner's role")
    if current is OrgRole.OWNER and new is not OrgRole.OWNER and owner_count <= 1:
        raise Conflict("an organization always keeps at least one owner; make someone else owner first")


def check_removal(
    actor: OrgRole | None,
    *,
    target: OrgRole,
    owner_count: int,
    is_self: bool,
    platform_admin: bool = False,
) -> None:
    """May `actor` remove a member whose role is `target` (or leave, when `is_self`)?"""
    if not is_self:
        check_can_grant(actor, target, platform_admin=platform_admin)
    if target is OrgRole.OWNER and owner_count <= 1:
        raise Conflict("an organization always keeps at least one owner; make someone else owner first")
