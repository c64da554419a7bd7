"""The membership state machine and the at-least-one-lead invariant, as pure rules (hypothesis).

`apply_change` applies a transition exactly as the service's `_change` does: the role kept is the
requested one, else the current one, else member; an unchanged active role is a no-op; `next_state`
decides the target and `check_leads_remain` guards the leads before anything is written. The
expectations below come from the documented lifecycle (the module docstring of
`coalition.domain.memberships`), written out independently of `TRANSITIONS`. The state machine draws
a role (or none) for every transition, a superset of what the API sends (a role with invite and
change_role, member with apply, none otherwise).
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from coalition.domain.memberships import (
    TRANSITIONS,
    CoalitionRole,
    MembershipState,
    Transition,
    check_leads_remain,
    next_state,
)
from common.errors import Conflict

S, T, R = MembershipState, Transition, CoalitionRole
ENDED_STATES = (S.DECLINED, S.EXPIRED, S.REJECTED, S.LEFT, S.REMOVED)
NOTHING_OR_ENDED = frozenset({None, *ENDED_STATES})

# The lifecycle as documented: transition -> (the states it starts from, where it lands).
DOCUMENTED: dict[Transition, tuple[frozenset[MembershipState | None], MembershipState]] = {
    T.INVITE: (NOTHING_OR_ENDED, S.INVITED),
    T.APPLY: (NOTHING_OR_ENDED, S.APPLIED),
    T.ACCEPT: (frozenset({S.INVITED}), S.ACTIVE),
    T.DECLINE: (frozenset({S.INVITED}), S.DECLINED),
    T.EXPIRE: (frozenset({S.INVITED}), S.EXPIRED),
    T.APPROVE: (frozenset({S.APPLIED}), S.ACTIVE),
    T.REJECT: (frozenset({S.APPLIED}), S.REJECTED),
    T.CHANGE_ROLE: (frozenset({S.ACTIVE}), S.ACTIVE),
    T.SUSPEND: (frozenset({S.ACTIVE}), S.SUSPENDED),
    T.REINSTATE: (frozenset({S.SUSPENDED}), S.ACTIVE),
    T.LEAVE: (frozenset({S.ACTIVE, S.SUSPENDED}), S.LEFT),
    T.REMOVE: (frozenset({S.ACTIVE, S.SUSPENDED}), S.REMOVED),
}
ALL_STATES: tuple[MembershipState | None, ...] = (None, *MembershipState)
ALL_PAIRS = list(itertools.product(ALL_STATES, Transition))

Membership = tuple[CoalitionRole, MembershipState]
ORGS = ("founder", "org-a", "org-b", "org-c")

transitions = st.sampled_from(list(Transition))
optional_roles = st.none() | st.sampled_from(list(CoalitionRole))


def _pair_id(pair: tuple[MembershipState | None, Transition]) -> str:
    state, transition = pair
    return f"{state.value if state else 'none'}-{transition.value}"


def active_leads(memberships: dict[str, Membership]) -> int:
    return sum(1 for role, state in memberships.values() if role is R.LEAD and state is S.ACTIVE)


def apply_change(
    memberships: dict[str, Membership], org: str, transition: Transition, role: CoalitionRole | None
) -> None:
    """One transition, as `CoalitionService._change` applies it: every check first, then the write."""
    current = memberships.get(org)
    if (
        transition is T.CHANGE_ROLE
        and current is not None
        and role is not None
        and current == (role, S.ACTIVE)
    ):
        return  # nothing changes
    state = current[1] if current else None
    target = next_state(state, transition)
    new_role = role or (current[0] if current else R.MEMBER)
    if current is not None and state is not None:
        check_leads_remain(
            role=current[0],
            state=state,
            new_role=new_role,
            new_state=target,
            active_leads=active_leads(memberships),
        )
    memberships[org] = (new_role, target)


# ---- (a) random sequences over one coalition's memberships ----------------------------------------


class CoalitionMemberships(RuleBasedStateMachine):
    """A coalition created by `founder` (its first active lead), driven by arbitrary transitions."""

    def __init__(self) -> None:
        super().__init__()
        self.memberships: dict[str, Membership] = {"founder": (R.LEAD, S.ACTIVE)}

    @rule(org=st.sampled_from(ORGS), transition=transitions, role=optional_roles)
    def transition(self, org: str, transition: Transition, role: CoalitionRole | None) -> None:
        before = dict(self.memberships)
        current = before.get(org)
        state = current[1] if current else None
        sources, target = DOCUMENTED[transition]
        no_op = transition is T.CHANGE_ROLE and current is not None and current == (role, S.ACTIVE)
        expected: dict[str, Membership] = dict(before)
        if not no_op and state in sources:
            expected[org] = (role or (current[0] if current else R.MEMBER), target)
        allowed = no_op or (state in sources and active_leads(expected) >= 1)

        refusal: Conflict | None = None
        try:
            apply_change(self.memberships, org, transition, role)
        except Conflict as exc:
            refusal = exc

        if refusal is not None:
            assert not allowed, f"{transition.value} from {state} was refused: {refusal.detail}"
            assert refusal.status == 409
            assert self.memberships == before
        else:
            assert allowed, f"{transition.value} from {state} (role {role}) was let through"
            assert self.memberships == expected

    @invariant()
    def the_coalition_keeps_an_active_lead(self) -> None:
        assert active_leads(self.memberships) >= 1, self.memberships


CoalitionMemberships.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_any_sequence_of_transitions_keeps_an_active_lead_and_refusals_change_nothing = (
    CoalitionMemberships.TestCase
)


@given(other_role=st.sampled_from(list(CoalitionRole)), step=st.sampled_from([T.LEAVE, T.SUSPEND, T.REMOVE]))
def test_a_lead_can_step_down_once_another_lead_is_active(
    other_role: CoalitionRole, step: Transition
) -> None:
    memberships: dict[str, Membership] = {"founder": (R.LEAD, S.ACTIVE)}
    apply_change(memberships, "org-a", T.INVITE, other_role)
    apply_change(memberships, "org-a", T.ACCEPT, None)
    apply_change(memberships, "org-a", T.CHANGE_ROLE, R.LEAD)

    apply_change(memberships, "founder", step, None)

    assert memberships["org-a"] == (R.LEAD, S.ACTIVE)
    assert memberships["founder"] == (R.LEAD, DOCUMENTED[step][1])


@pytest.mark.parametrize(
    ("transition", "role"),
    [
        (T.LEAVE, None),
        (T.REMOVE, None),
        (T.SUSPEND, None),
        (T.CHANGE_ROLE, R.MEMBER),
        (T.CHANGE_ROLE, R.OBSERVER),
    ],
)
def test_the_last_lead_is_kept(transition: Transition, role: CoalitionRole | None) -> None:
    memberships: dict[str, Membership] = {"founder": (R.LEAD, S.ACTIVE), "org-a": (R.MEMBER, S.ACTIVE)}

    with pytest.raises(Conflict, match="at least one lead") as refusal:
        apply_change(memberships, "founder", transition, role)

    assert refusal.value.status == 409
    assert memberships == {"founder": (R.LEAD, S.ACTIVE), "org-a": (R.MEMBER, S.ACTIVE)}


def test_a_suspended_lead_does_not_count_as_the_remaining_lead() -> None:
    memberships: dict[str, Membership] = {"founder": (R.LEAD, S.ACTIVE), "org-a": (R.LEAD, S.SUSPENDED)}

    with pytest.raises(Conflict):
        apply_change(memberships, "founder", T.LEAVE, None)


# ---- (b) every (state, transition) pair ---------------------------------------------------------


def test_the_transition_table_is_the_documented_lifecycle() -> None:
    table = {t: (frozenset(sources), target) for t, (sources, target) in TRANSITIONS.items()}

    assert table == DOCUMENTED


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=[_pair_id(p) for p in ALL_PAIRS])
def test_each_state_and_transition_is_allowed_or_refused_with_409(
    pair: tuple[MembershipState | None, Transition],
) -> None:
    state, transition = pair
    sources, target = TRANSITIONS[transition]

    if state in sources:
        assert next_state(state, transition) is target
    else:
        with pytest.raises(Conflict) as refusal:
            next_state(state, transition)
        assert refusal.value.status == 409
        assert refusal.value.extensions == {
            "state": state.value if state else None,
            "transition": transition.value,
        }
        assert transition.value.replace("_", " ") in refusal.value.detail


@given(state=st.sampled_from(ALL_STATES), transition=transitions)
def test_next_state_never_fails_other_than_with_a_conflict(
    state: MembershipState | None, transition: Transition
) -> None:
    try:
        result = next_state(state, transition)
    except Conflict:
        assert state not in DOCUMENTED[transition][0]
    else:
        assert result is DOCUMENTED[transition][1]


# ---- (c) ended memberships start again only by invitation or application ---------------------------


@pytest.mark.parametrize("state", ENDED_STATES, ids=[s.value for s in ENDED_STATES])
def test_an_ended_membership_restarts_only_with_invite_or_apply(state: MembershipState) -> None:
    allowed = {}
    for transition in Transition:
        try:
            allowed[transition] = next_state(state, transition)
        except Conflict:
            continue

    assert allowed == {T.INVITE: S.INVITED, T.APPLY: S.APPLIED}
    assert state.is_ended
    assert not state.is_member


@given(
    start=st.sampled_from(ENDED_STATES),
    role=st.sampled_from(list(CoalitionRole)),
    steps=st.lists(st.tuples(transitions, optional_roles), max_size=12),
)
@settings(max_examples=300)
def test_from_an_ended_state_the_way_back_to_active_passes_through_invited_or_applied(
    start: MembershipState,
    role: CoalitionRole,
    steps: list[tuple[Transition, CoalitionRole | None]],
) -> None:
    memberships: dict[str, Membership] = {"founder": (R.LEAD, S.ACTIVE), "org-a": (role, start)}
    path = [start]
    for transition, new_role in steps:
        try:
            apply_change(memberships, "org-a", transition, new_role)
        except Conflict:
            continue
        path.append(memberships["org-a"][1])

    if len(path) > 1:
        assert path[1] in (S.INVITED, S.APPLIED)
    if S.ACTIVE in path:
        assert {S.INVITED, S.APPLIED} & set(path[: path.index(S.ACTIVE)])
