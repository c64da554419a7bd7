"""Data-sharing agreements as pure rules: contacts only with the member organization's acceptance.

A state machine (hypothesis) drives any sequence of proposals, acceptances, declines and withdrawals
from either side and checks, after every step, the one property that matters to patients: the
effective level is `contacts_with_consent` only when an acceptance of a contacts proposal is on record
and nothing since has stepped back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from coalition.domain.memberships import SharingLevel
from coalition.domain.sharing import (
    AGGREGATE_ONLY,
    Agreement,
    Change,
    Decision,
    Proposal,
    Side,
    accept,
    decline,
    propose,
    require_acceptance,
    withdraw,
)
from common.errors import Conflict

CONTACTS, AGGREGATES = SharingLevel.CONTACTS_WITH_CONSENT, SharingLevel.AGGREGATE_ONLY
NOW = datetime(2026, 5, 1, tzinfo=UTC)
LEAD = uuid.uuid4()


def proposal(level: SharingLevel = CONTACTS, by: str = "lead-admin") -> Proposal:
    return Proposal(level=level, at=NOW, by_org=LEAD, by_user=by)


def proposed() -> Agreement:
    return propose(AGGREGATE_ONLY, level=CONTACTS, proposal=proposal(), member_consents=False).agreement


def accepted() -> Agreement:
    return accept(proposed(), at=NOW, by_user="member-admin").agreement


def test_a_lead_proposal_leaves_the_effective_level_at_aggregates() -> None:
    decision = propose(AGGREGATE_ONLY, level=CONTACTS, proposal=proposal(), member_consents=False)

    assert decision.change is Change.PROPOSED
    assert decision.agreement.level is AGGREGATES
    assert decision.agreement.proposal == proposal()


def test_the_members_acceptance_puts_the_proposal_in_force_and_records_both_sides() -> None:
    decision = accept(proposed(), at=NOW, by_user="member-admin")

    assert decision.change is Change.ACCEPTED
    assert decision.agreement.level is CONTACTS
    assert decision.agreement.proposal is None
    assert decision.agreement.acceptance is not None
    assert decision.agreement.acceptance.by_user == "member-admin"
    assert decision.agreement.acceptance.proposal == proposal()


def test_a_proposal_by_an_admin_of_the_member_itself_is_its_acceptance() -> None:
    decision = propose(AGGREGATE_ONLY, level=CONTACTS, proposal=proposal(), member_consents=True)

    assert decision.change is Change.ACCEPTED
    assert decision.agreement.level is CONTACTS


def test_accepting_or_declining_without_a_proposal_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        accept(AGGREGATE_ONLY, at=NOW, by_user="member-admin")
    with pytest.raises(Conflict):
        decline(AGGREGATE_ONLY)
    with pytest.raises(Conflict):
        decline(accepted())


def test_repeating_an_act_changes_nothing() -> None:
    assert propose(
        proposed(), level=CONTACTS, proposal=proposal(by="other"), member_consents=False
    ) == Decision(proposed(), None)
    assert accept(accepted(), at=NOW, by_user="again").change is None
    assert propose(accepted(), level=CONTACTS, proposal=proposal(), member_consents=False).change is None
    assert withdraw(AGGREGATE_ONLY, side=Side.MEMBER).change is None


@pytest.mark.parametrize("side", [Side.LEAD, Side.MEMBER])
def test_either_side_steps_back_from_an_agreement_in_force_at_once(side: Side) -> None:
    decision = withdraw(accepted(), side=side)

    assert (decision.change, decision.agreement) == (Change.WITHDRAWN, AGGREGATE_ONLY)


def test_a_pending_proposal_is_declined_by_the_member_or_withdrawn_by_the_lead() -> None:
    assert withdraw(proposed(), side=Side.MEMBER) == Decision(AGGREGATE_ONLY, Change.DECLINED)
    assert withdraw(proposed(), side=Side.LEAD) == Decision(AGGREGATE_ONLY, Change.PROPOSAL_WITHDRAWN)
    assert decline(proposed()) == Decision(AGGREGATE_ONLY, Change.DECLINED)
    assert propose(proposed(), level=AGGREGATES, proposal=proposal(AGGREGATES), member_consents=False) == (
        Decision(AGGREGATE_ONLY, Change.PROPOSAL_WITHDRAWN)
    )


def test_contacts_recorded_without_an_acceptance_count_as_aggregates_and_become_a_proposal() -> None:
    legacy = Agreement(recorded_level=CONTACTS)

    decision = require_acceptance(legacy, proposal=proposal())

    assert legacy.level is AGGREGATES
    assert legacy.needs_acceptance
    assert decision.change is Change.ACCEPTANCE_REQUIRED
    assert decision.agreement == Agreement(recorded_level=AGGREGATES, proposal=proposal())
    assert require_acceptance(accepted(), proposal=proposal()).change is None
    assert withdraw(legacy, side=Side.MEMBER) == Decision(AGGREGATE_ONLY, Change.WITHDRAWN)


class AgreementMachine(RuleBasedStateMachine):
    """Any sequence of acts; a model tracks whether the member's acceptance is in force."""

    def __init__(self) -> None:
        super().__init__()
        self.agreement = AGGREGATE_ONLY
        self.pending = False
        self.in_force = False

    def act(self, act: Callable[[], Decision]) -> Decision | None:
        """Apply `act` to the agreement; None when it was refused (a 409), which changes nothing."""
        try:
            decision = act()
        except Conflict:
            return None
        self.agreement = decision.agreement
        return decision

    @rule(member_consents=st.booleans())
    def lead_proposes_contacts(self, member_consents: bool) -> None:
        self.act(
            lambda: propose(
                self.agreement, level=CONTACTS, proposal=proposal(), member_consents=member_consents
            )
        )
        if member_consents:
            self.in_force, self.pending = True, False
        elif not self.in_force:
            self.pending = True

    @rule()
    def member_accepts(self) -> None:
        decision = self.act(lambda: accept(self.agreement, at=NOW, by_user="member-admin"))
        if self.pending:
            assert decision is not None
            assert decision.change is Change.ACCEPTED
            self.in_force, self.pending = True, False
        elif not self.in_force:
            assert decision is None  # nothing to accept: refused

    @rule()
    def member_declines(self) -> None:
        decision = self.act(lambda: decline(self.agreement))
        assert (decision is not None) == self.pending
        self.pending = False

    @rule(side=st.sampled_from(Side))
    def a_side_steps_back(self, side: Side) -> None:
        decision = self.act(lambda: withdraw(self.agreement, side=side))
        assert decision is not None
        assert (decision.change is not None) == (self.pending or self.in_force)
        self.pending = self.in_force = False

    @invariant()
    def contacts_only_with_the_members_acceptance(self) -> None:
        assert (self.agreement.level is CONTACTS) == self.in_force
        assert (self.agreement.proposal is not None) == self.pending
        if self.agreement.level is CONTACTS:
            assert self.agreement.acceptance is not None


AgreementMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=20, suppress_health_check=[HealthCheck.too_slow], deadline=None
)
TestAgreementMachine = AgreementMachine.TestCase
