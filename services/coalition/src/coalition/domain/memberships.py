"""Organizations' memberships in coalitions: the states, the transitions between them, and the leads.

A membership moves through these states:

    (none) --invite--> invited --accept--> active <--reinstate-- suspended
    (none) --apply---> applied --approve-> active --suspend----> suspended
    invited --decline/expire--> declined/expired        applied --reject--> rejected
    active|suspended --leave--> left                    active|suspended --remove--> removed

Ended states (declined, expired, rejected, left, removed) may start again with a new invitation or
application. A coalition always keeps at least one active lead.
"""

from __future__ import annotations

from enum import StrEnum

from common.errors import Conflict


class CoalitionRole(StrEnum):
    LEAD = "lead"
    MEMBER = "member"
    OBSERVER = "observer"


class MembershipState(StrEnum):
    INVITED = "invited"
    APPLIED = "applied"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DECLINED = "declined"
    EXPIRED = "expired"
    REJECTED = "rejected"
    LEFT = "left"
    REMOVED = "removed"

    @property
    def is_ended(self) -> bool:
        return self in ENDED

    @property
    def is_member(self) -> bool:
        """Counts as belonging to the coalition (reads members and campaigns)."""
        return self in (MembershipState.ACTIVE, MembershipState.SUSPENDED)


ENDED = frozenset(
    {
        MembershipState.DECLINED,
        MembershipState.EXPIRED,
        MembershipState.REJECTED,
        MembershipState.LEFT,
        MembershipState.REMOVED,
    }
)


class SharingLevel(StrEnum):
    AGGREGATE_ONLY = "aggregate_only"
    CONTACTS_WITH_CONSENT = "contacts_with_consent"


class Transition(StrEnum):
    INVITE = "invite"
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE = "expire"
    APPLY = "apply"
    APPROVE = "approve"
    REJECT = "reject"
    CHANGE_ROLE = "change_role"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    LEAVE = "leave"
    REMOVE = "remove"


_S = MembershipState
_FROM_NOTHING_OR_ENDED = (None, *ENDED)
TRANSITIONS: dict[Transition, tuple[tuple[MembershipState | None, ...], MembershipState]] = {
    Transition.INVITE: (_FROM_NOTHING_OR_ENDED, _S.INVITED),
    Transition.APPLY: (_FROM_NOTHING_OR_ENDED, _S.APPLIED),
    Transition.ACCEPT: ((_S.INVITED,), _S.ACTIVE),
    Transition.DECLINE: ((_S.INVITED,), _S.DECLINED),
    Transition.EXPIRE: ((_S.INVITED,), _S.EXPIRED),
    Transition.APPROVE: ((_S.APPLIED,), _S.ACTIVE),
    Transition.REJECT: ((_S.APPLIED,), _S.REJECTED),
    Transition.CHANGE_ROLE: ((_S.ACTIVE,), _S.ACTIVE),
    Transition.SUSPEND: ((_S.ACTIVE,), _S.SUSPENDED),
    Transition.REINSTATE: ((_S.SUSPENDED,), _S.ACTIVE),
    Transition.LEAVE: ((_S.ACTIVE, _S.SUSPENDED), _S.LEFT),
    Transition.REMOVE: ((_S.ACTIVE, _S.SUSPENDED), _S.REMOVED),
}


def next_state(current: MembershipState | None, transition: Transition) -> MembershipState:
    """The state after `transition`, or a 409 Conflict when it is not allowed from `current`."""
    sources, target = TRANSITIONS[transition]
    if current not in sources:
        where = current.value if current else "no membership"
        raise Conflict(
            f"cannot {transition.value.replace('_', ' ')} from {where}",
            state=current.value if current else None,
            transition=transition.value,
        )
    return target


def is_active_lead(role: CoalitionRole, state: MembershipState) -> bool:
    return role is CoalitionRole.LEAD and state is MembershipState.ACTIVE


def check_leads_remain(
    *,
    role: CoalitionRole,
    state: MembershipState,
    new_role: CoalitionRole,
    new_state: MembershipState,
    active_leads: int,
) -> None:
    """Refuse a change that would leave the coalition without an active lead."""
    if is_active_lead(role, state) and not is_active_lead(new_role, new_state) and active_leads <= 1:
        raise Conflict("a coalition always keeps at least one lead; make another member lead first")
