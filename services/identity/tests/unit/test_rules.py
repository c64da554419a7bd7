"""Pure identity rules: roles, the always-one-owner invariant, the password policy and lockouts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.errors import Conflict, DomainError, Forbidden
from identity.domain.memberships import OrgRole, check_removal, check_role_change
from identity.domain.organizations import slug_is_allowed
from identity.domain.throttle import LoginThrottlePolicy, account_key, pair_key, source_of
from identity.domain.users import password_problems

roles = st.sampled_from(list(OrgRole))
operations = st.lists(
    st.tuples(st.sampled_from(["change", "remove"]), st.integers(0, 5), roles, st.integers(0, 5)), max_size=40
)


@given(initial=st.lists(roles, min_size=1, max_size=6), ops=operations)
def test_no_sequence_of_allowed_changes_leaves_an_organization_without_an_owner(
    initial: list[OrgRole], ops: list[tuple[str, int, OrgRole, int]]
) -> None:
    members = [OrgRole.OWNER, *initial]  # an organization starts with its registering owner
    for op, actor_index, new_role, target_index in ops:
        if not members:
            break
        actor = members[actor_index % len(members)]
        target = target_index % len(members)
        owners = members.count(OrgRole.OWNER)
        try:
            if op == "change":
                check_role_change(actor, current=members[target], new=new_role, owner_count=owners)
                members[target] = new_role
            else:
                check_removal(
                    actor,
                    target=members[target],
                    owner_count=owners,
                    is_self=actor_index % len(members) == target,
                )
                members.pop(target)
        except DomainError:
            continue
        assert members.count(OrgRole.OWNER) >= 1


@given(actor=roles, current=roles, new=roles)
def test_only_owners_touch_the_owner_role(actor: OrgRole, current: OrgRole, new: OrgRole) -> None:
    touches_owner = OrgRole.OWNER in (current, new) and current is not new
    try:
        check_role_change(actor, current=current, new=new, owner_count=2)
    except Forbidden:
        assert actor is not OrgRole.OWNER
        return
    assert actor.at_least(OrgRole.ADMIN)
    if touches_owner:
        assert actor is OrgRole.OWNER


def test_members_and_organizers_cannot_manage_roles() -> None:
    for actor in (OrgRole.MEMBER, OrgRole.ORGANIZER, None):
        with pytest.raises(Forbidden):
            check_role_change(actor, current=OrgRole.MEMBER, new=OrgRole.ORGANIZER, owner_count=1)


def test_the_last_owner_cannot_leave() -> None:
    with pytest.raises(Conflict):
        check_removal(OrgRole.OWNER, target=OrgRole.OWNER, owner_count=1, is_self=True)


def test_anyone_else_may_leave() -> None:
    check_removal(OrgRole.MEMBER, target=OrgRole.MEMBER, owner_count=1, is_self=True)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "must be at least 12 characters long"),
        ("x" * 129, "must be at most 128 characters long"),
        ("            ", "must not be only white space"),
        ("password1234", "is too common"),
        ("abababababab", "must use more than three different characters"),
        ("my maria.lopez secret", "must not contain the e-mail address"),
    ],
)
def test_password_policy_explains_what_is_wrong(password: str, problem: str) -> None:
    assert problem in password_problems(password, email="maria.lopez@example.org")


def test_a_long_unusual_passphrase_is_fine() -> None:
    assert (
        password_problems("violet kettle orbit 2031", email="maria@example.org", display_name="Maria") == []
    )


def test_lockouts_start_after_the_free_failures_and_double_up_to_a_cap() -> None:
    policy = LoginThrottlePolicy(
        free_failures=5, base_lockout=timedelta(seconds=30), max_lockout=timedelta(minutes=15)
    )

    assert policy.lockout_after(4) == timedelta(0)
    assert [policy.lockout_after(n).total_seconds() for n in (5, 6, 7)] == [30, 60, 120]
    assert policy.lockout_after(50) == timedelta(minutes=15)
    assert [policy.lockout(strikes).total_seconds() for strikes in (0, 1, 2)] == [30, 60, 120]


@pytest.mark.parametrize(
    ("address", "source"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),
    ],
)
def test_an_ipv6_client_counts_as_its_whole_64_network(address: str, source: str) -> None:
    assert source_of(address) == source


def test_throttle_keys_do_not_keep_addresses_in_clear() -> None:
    key = pair_key("maria@example.org", "192.0.2.7")

    assert "maria" not in key
    assert "192.0.2.7" not in key
    assert key != pair_key("maria@example.org", "192.0.2.8")
    assert "maria" not in account_key("maria@example.org")


@pytest.mark.parametrize(
    ("slug", "allowed"),
    [
        ("cf-europe", True),
        ("a", False),
        ("Bad", False),
        ("-lead", False),
        ("double--dash", False),
        ("admin", False),
    ],
)
def test_slugs(slug: str, allowed: bool) -> None:
    assert slug_is_allowed(slug) is allowed
