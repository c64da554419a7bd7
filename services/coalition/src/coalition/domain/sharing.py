"""Data-sharing agreements: a lead proposes, the member organization accepts; either side steps back.

An agreement belongs to one membership. Its effective level is what the coalition may see of the
member's supporters:

    aggregate_only --lead proposes--> aggregate_only + proposal --member accepts--> contacts_with_consent
                                       |                                              |
                                       +--member declines / lead withdraws-->  aggregate_only
                                                                                      |
    contacts_with_consent --either side returns to aggregate_only (at once)-----------+

Contacts are shared only once an admin of the member organization accepted: an agreement that says
`contacts_with_consent` without an acceptance on record (made before acceptance existed) counts as
`aggregate_only` and is turned back into a proposal (see `require_acceptance`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from coalition.domain.memberships import SharingLevel
from common.errors import Conflict


class Side(StrEnum):
    """Who acts on an agreement: the coalition's lead, or the member organization itself."""

    LEAD = "lead"
    MEMBER = "member"


class Change(StrEnum):
    """What happened to an agreement; also the `transition` of its history record."""

    PROPOSED = "sharing_proposed"
    ACCEPTED = "sharing_accepted"
    DECLINED = "sharing_declined"
    PROPOSAL_WITHDRAWN = "sharing_proposal_withdrawn"
    WITHDRAWN = "sharing_withdrawn"
    ACCEPTANCE_REQUIRED = "sharing_acceptance_required"

    @property
    def changes_level(self) -> bool:
        """Whether the effective level moves (what consumers deciding on contacts care about)."""
        return self in (Change.ACCEPTED, Change.WITHDRAWN, Change.ACCEPTANCE_REQUIRED)


@dataclass(frozen=True)
class Proposal:
    level: SharingLevel
    at: datetime
    by_org: UUID | None
    by_user: str


@dataclass(frozen=True)
class Acceptance:
    at: datetime
    by_user: str
    proposal: Proposal


@dataclass(frozen=True)
class Agreement:
    """One membership's agreement as stored: the level recorded, a pending proposal, the acceptance."""

    recorded_level: SharingLevel = SharingLevel.AGGREGATE_ONLY
    proposal: Proposal | None = None
    acceptance: Acceptance | None = None

    @property
    def level(self) -> SharingLevel:
        """The effective level: contacts only with the member organization's acceptance on record."""
        if self.recorded_level is SharingLevel.CONTACTS_WITH_CONSENT and self.acceptance is not None:
            return SharingLevel.CONTACTS_WITH_CONSENT
        return SharingLevel.AGGREGATE_ONLY

    @property
    def needs_acceptance(self) -> bool:
        """Recorded as sharing contacts without the member's acceptance (made under the old rules)."""
        return self.recorded_level is SharingLevel.CONTACTS_WITH_CONSENT and self.acceptance is None


AGGREGATE_ONLY = Agreement()


@dataclass(frozen=True)
class Decision:
    """The agreement after an act, and what changed (None: nothing, the act was a repeat)."""

    agreement: Agreement
    change: Change | None


def propose(
    agreement: Agreement,
    *,
    level: SharingLevel,
    proposal: Proposal,
    member_consents: bool,
) -> Decision:
    """A lead asks for `level`. Contacts wait for the member's acceptance, unless the proposer is an
    admin of the member organization itself (a lead setting its own agreement); `aggregate_only` is
    the lead stepping back, which takes effect at once."""
    if level is SharingLevel.AGGREGATE_ONLY:
        return withdraw(agreement, side=Side.LEAD)
    if agreement.level is level:
        return Decision(agreement, None)
    pending = Agreement(recorded_level=SharingLevel.AGGREGATE_ONLY, proposal=proposal)
    if member_consents:
        return accept(pending, at=proposal.at, by_user=proposal.by_user)
    if agreement.proposal is not None and agreement.proposal.level is level:
        return Decision(agreement, None)
    return Decision(pending, Change.PROPOSED)


def accept(agreement: Agreement, *, at: datetime, by_user: str) -> Decision:
    """The member organization agrees to the pending proposal; it takes effect at once."""
    if agreement.proposal is None:
        if agreement.level is SharingLevel.CONTACTS_WITH_CONSENT:
            return Decision(agreement, None)
        raise Conflict("there is no sharing proposal to accept", sharing_level=agreement.level.value)
    accepted = Agreement(
        recorded_level=agreement.proposal.level,
        acceptance=Acceptance(at=at, by_user=by_user, proposal=agreement.proposal),
    )
    return Decision(accepted, Change.ACCEPTED)


def decline(agreement: Agreement) -> Decision:
    """The member organization refuses the pending proposal; the level stays what it was."""
    if agreement.proposal is None:
        raise Conflict("there is no sharing proposal to decline", sharing_level=agreement.level.value)
    return Decision(replace(agreement, proposal=None), Change.DECLINED)


def withdraw(agreement: Agreement, *, side: Side) -> Decision:
    """Either side returns to `aggregate_only`: at once, cancelling a pending proposal too."""
    if agreement.level is SharingLevel.CONTACTS_WITH_CONSENT:
        return Decision(AGGREGATE_ONLY, Change.WITHDRAWN)
    if agreement.proposal is not None:
        return Decision(AGGREGATE_ONLY, Change.DECLINED if side is Side.MEMBER else Change.PROPOSAL_WITHDRAWN)
    if agreement.needs_acceptance:
        return Decision(AGGREGATE_ONLY, Change.WITHDRAWN)
    return Decision(agreement, None)


def require_acceptance(agreement: Agreement, *, proposal: Proposal) -> Decision:
    """An agreement recorded as sharing contacts without the member's acceptance becomes what it
    should have been: `aggregate_only`, with the lead's request pending as a proposal to accept."""
    if not agreement.needs_acceptance:
        return Decision(agreement, None)
    return Decision(
        Agreement(recorded_level=SharingLevel.AGGREGATE_ONLY, proposal=proposal), Change.ACCEPTANCE_REQUIRED
    )
