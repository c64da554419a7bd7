"""Use cases of the coalition service: coalitions, membership lifecycle, sharing agreements, projection."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from coalition.config import Settings
from coalition.domain import sharing
from coalition.domain.coalitions import EDITABLE_FIELDS, Coalition, CoalitionStatus, Visibility
from coalition.domain.memberships import (
    CoalitionRole,
    MembershipState,
    SharingLevel,
    Transition,
    check_leads_remain,
    next_state,
)
from coalition.domain.sharing import Agreement, Change, Decision, Proposal, Side
from coalition.repository import CoalitionRepository, agreement_fields, agreement_of
from common import scopes
from common.auth import Principal
from common.contracts import coalition as ev
from common.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from common.events import EventPayload, utcnow
from common.mongo import Document, Session, in_transaction
from common.outbox import Outbox

VISIBLE_STATES = (
    MembershipState.INVITED,
    MembershipState.APPLIED,
    MembershipState.ACTIVE,
    MembershipState.SUSPENDED,
)
WRITE_SCOPE = scopes.COALITIONS_WRITE
READ_SCOPE = scopes.COALITIONS_READ
# Who `changed_by_user` names when the service itself resets an agreement.
SERVICE_ACTOR = "coalition-service"

# Which event a transition publishes.
EVENT_FOR: dict[Transition, type[ev._MembershipEvent]] = {
    Transition.INVITE: ev.MembershipInvited,
    Transition.ACCEPT: ev.MembershipJoined,
    Transition.DECLINE: ev.MembershipInvitationDeclined,
    Transition.EXPIRE: ev.MembershipInvitationExpired,
    Transition.APPLY: ev.MembershipApplied,
    Transition.APPROVE: ev.MembershipJoined,
    Transition.REJECT: ev.MembershipApplicationRejected,
    Transition.CHANGE_ROLE: ev.CoalitionMembershipRoleChanged,
    Transition.SUSPEND: ev.MembershipSuspended,
    Transition.REINSTATE: ev.MembershipReinstated,
    Transition.LEAVE: ev.MembershipLeft,
    Transition.REMOVE: ev.MembershipRemoved,
}


@dataclass(frozen=True)
class NewCoalition:
    organization_id: UUID
    slug: str
    name: str
    mission: str
    focus_areas: list[str]
    countries: list[str]
    visibility: Visibility
    website: str | None = None
    require_current_disclosure: bool = False


@dataclass(frozen=True)
class Standing:
    """What the caller may see of one coalition."""

    coalition: Coalition
    role: CoalitionRole | None  # the caller's best role among its organizations' active memberships
    platform_admin: bool

    @property
    def reads_members(self) -> bool:
        return self.platform_admin or self.role is not None

    @property
    def reads_agreements(self) -> bool:
        return self.platform_admin or self.role in (CoalitionRole.LEAD, CoalitionRole.MEMBER)


class CoalitionService:
    def __init__(
        self,
        *,
        client: AsyncMongoClient[Document],
        repo: CoalitionRepository,
        outbox: Outbox,
        settings: Settings,
    ) -> None:
        self.client = client
        self.repo = repo
        self.outbox = outbox
        self.settings = settings

    # ---- who acts for whom -----------------------------------------------------------------------

    @staticmethod
    def acting_orgs(principal: Principal) -> set[UUID]:
        if principal.kind == "client":
            return {principal.client_org} if principal.client_org else set()
        return set(principal.org_roles)

    @staticmethod
    def administers(principal: Principal, org_id: UUID) -> bool:
        """Admins and owners of the organization, or its API client with the write scope."""
        if principal.kind == "client":
            return principal.client_org == org_id and WRITE_SCOPE in principal.scopes
        return principal.has_role(org_id, "admin")

    @staticmethod
    def consents_for(principal: Principal, org_id: UUID) -> bool:
        """Who may share an organization's supporters' contacts: its admins and owners, in person."""
        return principal.kind == "user" and principal.has_role(org_id, "admin")

    @staticmethod
    def _require_scope(principal: Principal | None, scope: str) -> None:
        """An API client's scope, checked before anything is looked up: a client without it gets the
        same 403 whether or not the coalition exists."""
        if principal is not None:
            principal.require_scope(scope)

    def _require_admin_of(self, principal: Principal, org_id: UUID) -> None:
        if not (principal.platform_admin or self.administers(principal, org_id)):
            raise Forbidden("only the organization's admins and owners act for it here")

    async def _active_leads(self, coalition_id: UUID) -> set[UUID]:
        docs = await self.repo.memberships_of_coalition(coalition_id, [MembershipState.ACTIVE])
        return {d["org_id"] for d in docs if d["role"] == CoalitionRole.LEAD.value}

    async def _require_manager(self, principal: Principal, coalition: Coalition) -> UUID | None:
        """The lead organization the caller manages the coalition for (None for platform admins)."""
        for org_id in await self._active_leads(coalition.id):
            if self.administers(principal, org_id):
                return org_id
        if principal.platform_admin:
            return None
        raise Forbidden("only admins of a lead organization manage the coalition")

    async def standing(
        self, *, principal: Principal | None, coalition_id: UUID, scope: str = READ_SCOPE
    ) -> Standing:
        """The coalition as the caller may see it. Authorised before its existence is revealed: the
        scope first, then a private coalition is the same 404 to outsiders as an unknown id."""
        self._require_scope(principal, scope)
        coalition = await self.repo.get_coalition(coalition_id)
        if coalition is None:
            raise NotFound("no such coalition")
        admin = principal is not None and principal.platform_admin
        role: CoalitionRole | None = None
        involved = False
        if principal is not None:
            docs = await self.repo.memberships_of_orgs(coalition_id, list(self.acting_orgs(principal)))
            ranks = {CoalitionRole.LEAD: 3, CoalitionRole.MEMBER: 2, CoalitionRole.OBSERVER: 1}
            for doc in docs:
                state = MembershipState(doc["state"])
                involved = involved or state in VISIBLE_STATES
                if state.is_member:
                    candidate = CoalitionRole(doc["role"])
                    if role is None or ranks[candidate] > ranks[role]:
                        role = candidate
        if not (coalition.is_public or admin or involved):
            raise NotFound("no such coalition")
        return Standing(coalition=coalition, role=role, platform_admin=admin)

    async def _known_active_org(self, org_id: UUID, session: Session | None = None) -> Document:
        org = await self.repo.get_organization(org_id, session)
        if org is None:
            raise InvalidInput("no organization with this id is known here", field="organization_id")
        if not org.get("active", True):
            raise Conflict("the organization is deactivated", organization_id=str(org_id))
        return org

    async def _emit(self, session: Session, payload: EventPayload, coalition_id: UUID) -> None:
        await self.outbox.add(
            session,
            payload,
            key=str(coalition_id),
            subject=f"coalitions/{coalition_id}",
            coalitionid=str(coalition_id),
            orgid=str(getattr(payload, "organization_id", "")) or None,
        )

    # ---- coalitions ------------------------------------------------------------------------------

    async def create_coalition(self, *, principal: Principal, new: NewCoalition) -> Coalition:
        self._require_scope(principal, WRITE_SCOPE)
        self._require_admin_of(principal, new.organization_id)
        now = utcnow()
        coalition = Coalition(
            id=uuid.uuid4(),
            slug=new.slug,
            name=new.name,
            mission=new.mission,
            focus_areas=sorted(set(new.focus_areas)),
            countries=sorted(set(new.countries)),
            visibility=new.visibility,
            website=new.website,
            require_current_disclosure=new.require_current_disclosure,
            created_by_org=new.organization_id,
            created_at=now,
            updated_at=now,
        )
        lead = self._membership_doc(
            coalition.id, new.organization_id, CoalitionRole.LEAD, MembershipState.ACTIVE
        )

        async def work(session: Session) -> None:
            await self._known_active_org(new.organization_id, session)
            await self.repo.insert_coalition(coalition, session)
            await self.repo.upsert_membership(lead, session)
            await self._emit(
                session,
                ev.CoalitionCreated(
                    coalition_id=coalition.id,
                    slug=coalition.slug,
                    name=coalition.name,
                    visibility=coalition.visibility.value,
                    focus_areas=coalition.focus_areas,
                    countries=coalition.countries,
                    lead_organization_id=new.organization_id,
                    require_current_disclosure=coalition.require_current_disclosure,
                ),
                coalition.id,
            )
            await self._emit(
                session, self._event(ev.MembershipJoined, lead, actor=new.organization_id), coalition.id
            )

        try:
            await in_transaction(self.client, work)
        except DuplicateKeyError as exc:
            raise Conflict("a coalition with this slug already exists", field="slug") from exc
        return coalition

    async def update_coalition(
        self, *, principal: Principal, coalition_id: UUID, changes: dict[str, Any]
    ) -> Coalition:
        standing = await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        await self._require_manager(principal, standing.coalition)
        changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
        for key in ("focus_areas", "countries"):
            if key in changes:
                changes[key] = sorted(set(changes[key]))

        async def work(session: Session) -> Coalition:
            coalition = await self.repo.get_coalition(coalition_id, session)
            assert coalition is not None
            coalition.require_open()
            changed = {k: v for k, v in changes.items() if getattr(coalition, k) != v}
            if not changed:
                return coalition
            updated = await self.repo.update_coalition(
                coalition_id, {**changed, "updated_at": utcnow()}, session
            )
            await self._emit(
                session,
                ev.CoalitionUpdated(
                    coalition_id=coalition_id,
                    name=updated.name,
                    visibility=updated.visibility.value,
                    focus_areas=updated.focus_areas,
                    countries=updated.countries,
                    changed_fields=sorted(changed),
                    require_current_disclosure=updated.require_current_disclosure,
                ),
                coalition_id,
            )
            return updated

        return await in_transaction(self.client, work)

    async def archive_coalition(self, *, principal: Principal, coalition_id: UUID) -> Coalition:
        standing = await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        await self._require_manager(principal, standing.coalition)

        async def work(session: Session) -> Coalition:
            coalition = await self.repo.get_coalition(coalition_id, session)
            assert coalition is not None
            if coalition.status is CoalitionStatus.ARCHIVED:
                raise Conflict("the coalition is already archived")
            updated = await self.repo.update_coalition(
                coalition_id, {"status": CoalitionStatus.ARCHIVED.value, "updated_at": utcnow()}, session
            )
            await self._emit(session, ev.CoalitionArchived(coalition_id=coalition_id), coalition_id)
            return updated

        return await in_transaction(self.client, work)

    async def directory(self, **filters: Any) -> list[Coalition]:
        return await self.repo.directory(**filters)

    async def coalitions_of_org(
        self, *, principal: Principal | None, org_id: UUID
    ) -> list[tuple[Coalition, Document]]:
        """An organization's coalitions: all of them for its own people, public ones for everyone else."""
        self._require_scope(principal, READ_SCOPE)
        own = principal is not None and (principal.platform_admin or org_id in self.acting_orgs(principal))
        states = list(VISIBLE_STATES) if own else [MembershipState.ACTIVE, MembershipState.SUSPENDED]
        memberships = await self.repo.memberships_of_org(org_id, states)
        coalitions = await self.repo.coalitions_by_id([m["coalition_id"] for m in memberships])
        return [
            (coalitions[m["coalition_id"]], m)
            for m in memberships
            if m["coalition_id"] in coalitions and (own or coalitions[m["coalition_id"]].is_public)
        ]

    async def members(
        self, *, principal: Principal | None, coalition_id: UUID
    ) -> tuple[Standing, list[Document]]:
        standing = await self.standing(principal=principal, coalition_id=coalition_id)
        if not standing.reads_members:
            raise Forbidden("only the coalition's members and observers see its members")
        states = (
            list(VISIBLE_STATES)
            if standing.role is CoalitionRole.LEAD or standing.platform_admin
            else [MembershipState.ACTIVE, MembershipState.SUSPENDED]
        )
        docs = await self.repo.memberships_of_coalition(coalition_id, states)
        orgs = await self.repo.organizations_by_id([d["org_id"] for d in docs])
        return standing, [{**d, "organization": orgs.get(d["org_id"], {})} for d in docs]

    # ---- membership lifecycle --------------------------------------------------------------------

    def _membership_doc(
        self,
        coalition_id: UUID,
        org_id: UUID,
        role: CoalitionRole,
        state: MembershipState,
        previous: Document | None = None,
    ) -> Document:
        now = utcnow()
        # A membership that starts again after it ended starts with a new agreement: aggregates only.
        agreement = (
            agreement_of(previous)
            if previous is not None and not MembershipState(previous["state"]).is_ended
            else sharing.AGGREGATE_ONLY
        )
        return {
            "_id": previous["_id"] if previous else uuid.uuid4(),
            "coalition_id": coalition_id,
            "org_id": org_id,
            "role": role.value,
            "state": state.value,
            **agreement_fields(agreement),
            "created_at": previous["created_at"] if previous else now,
            "updated_at": now,
            "expires_at": None,
            "history": list((previous or {}).get("history", [])),
        }

    @staticmethod
    def _event(
        cls: type[ev._MembershipEvent],
        doc: Document,
        *,
        actor: UUID | None,
        reason: str | None = None,
        **extra: Any,
    ) -> ev._MembershipEvent:
        """The membership after the change; `sharing_level` is the effective level, never one that the
        member organization has not accepted."""
        agreement = agreement_of(doc)
        return cls(
            coalition_id=doc["coalition_id"],
            organization_id=doc["org_id"],
            role=doc["role"],
            state=doc["state"],
            sharing_level=agreement.level.value,
            proposed_sharing_level=agreement.proposal.level.value if agreement.proposal else None,
            actor_organization_id=actor,
            reason=reason,
            **extra,
        )

    async def _change(
        self,
        *,
        coalition_id: UUID,
        org_id: UUID,
        transition: Transition,
        authorize: Callable[[Coalition, Document | None], Any],
        role: CoalitionRole | None = None,
        actor: UUID | None = None,
        reason: str | None = None,
        opens: bool = False,
        by_user: str | None = None,
    ) -> Document:
        """Apply one lifecycle transition in a transaction, keeping the lead invariant, with its event."""

        async def work(session: Session) -> Document:
            coalition = await self.repo.get_coalition(coalition_id, session)
            if coalition is None:
                raise NotFound("no such coalition")
            current = await self.repo.get_membership(coalition_id, org_id, session)
            await authorize(coalition, current)
            if (
                transition is Transition.CHANGE_ROLE
                and current is not None
                and role is not None
                and (current["role"] == role.value and current["state"] == MembershipState.ACTIVE.value)
            ):
                return current  # nothing changes, nothing to announce
            if opens:
                coalition.require_open()
            state = MembershipState(current["state"]) if current else None
            target = next_state(state, transition)
            new_role = role or (CoalitionRole(current["role"]) if current else CoalitionRole.MEMBER)
            if current is not None and state is not None:
                check_leads_remain(
                    role=CoalitionRole(current["role"]),
                    state=state,
                    new_role=new_role,
                    new_state=target,
                    active_leads=await self.repo.count_active_leads(coalition_id, session),
                )
            doc = self._membership_doc(coalition_id, org_id, new_role, target, current)
            if transition is Transition.INVITE:
                doc["expires_at"] = utcnow() + timedelta(days=self.settings.invitation_ttl_days)
            doc["history"].append(
                {
                    "transition": transition.value,
                    "at": doc["updated_at"],
                    "actor_org": actor,
                    "by": by_user,
                    "reason": reason,
                }
            )
            await self.repo.upsert_membership(doc, session)
            extra = (
                {"previous_role": current["role"]} if transition is Transition.CHANGE_ROLE and current else {}
            )
            await self._emit(
                session,
                self._event(EVENT_FOR[transition], doc, actor=actor, reason=reason, **extra),
                coalition_id,
            )
            return doc

        return await in_transaction(self.client, work)

    async def invite(
        self, *, principal: Principal, coalition_id: UUID, org_id: UUID, role: CoalitionRole
    ) -> Document:
        standing = await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        lead = await self._require_manager(principal, standing.coalition)

        async def authorize(_: Coalition, __: Document | None) -> None:
            await self._known_active_org(org_id)

        return await self._change(
            coalition_id=coalition_id,
            org_id=org_id,
            transition=Transition.INVITE,
            authorize=authorize,
            role=role,
            actor=lead,
            opens=True,
            by_user=principal.subject,
        )

    async def _expire_if_due(self, coalition_id: UUID, org_id: UUID) -> None:
        membership = await self.repo.get_membership(coalition_id, org_id)
        if (
            membership
            and membership["state"] == MembershipState.INVITED.value
            and membership["expires_at"] is not None
            and membership["expires_at"] <= utcnow()
        ):

            async def authorize(_: Coalition, current: Document | None) -> None:
                if current is None or current["state"] != MembershipState.INVITED.value:
                    raise Conflict("the invitation changed meanwhile")

            await self._change(
                coalition_id=coalition_id,
                org_id=org_id,
                transition=Transition.EXPIRE,
                authorize=authorize,
                reason="invitation_expired",
            )
            raise Gone("the invitation has expired")

    async def answer_invitation(
        self, *, principal: Principal, coalition_id: UUID, org_id: UUID, accept: bool
    ) -> Document:
        self._require_scope(principal, WRITE_SCOPE)
        self._require_admin_of(principal, org_id)
        await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        await self._expire_if_due(coalition_id, org_id)

        async def authorize(_: Coalition, __: Document | None) -> None:
            if accept:
                await self._known_active_org(org_id)

        return await self._change(
            coalition_id=coalition_id,
            org_id=org_id,
            transition=Transition.ACCEPT if accept else Transition.DECLINE,
            authorize=authorize,
            actor=org_id,
            opens=accept,
            by_user=principal.subject,
        )

    async def apply(
        self, *, principal: Principal, coalition_id: UUID, org_id: UUID, message: str | None
    ) -> Document:
        self._require_scope(principal, WRITE_SCOPE)
        self._require_admin_of(principal, org_id)
        standing = await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        if not standing.coalition.is_public:
            raise Forbidden("private coalitions take members by invitation only")

        async def authorize(_: Coalition, __: Document | None) -> None:
            await self._known_active_org(org_id)

        return await self._change(
            coalition_id=coalition_id,
            org_id=org_id,
            transition=Transition.APPLY,
            authorize=authorize,
            role=CoalitionRole.MEMBER,
            actor=org_id,
            opens=True,
            reason=message,
            by_user=principal.subject,
        )

    async def manage(
        self,
        *,
        principal: Principal,
        coalition_id: UUID,
        org_id: UUID,
        transition: Transition,
        role: CoalitionRole | None = None,
        reason: str | None = None,
    ) -> Document:
        """A lead's decision about another organization: approve, reject, change role, suspend, reinstate, remove."""
        standing = await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        lead = await self._require_manager(principal, standing.coalition)

        async def authorize(_: Coalition, current: Document | None) -> None:
            if current is None:
                raise NotFound("that organization has no membership in this coalition")
            if transition in (Transition.APPROVE, Transition.REINSTATE):
                await self._known_active_org(org_id)

        return await self._change(
            coalition_id=coalition_id,
            org_id=org_id,
            transition=transition,
            authorize=authorize,
            role=role,
            actor=lead,
            reason=reason,
            opens=transition is Transition.APPROVE,
            by_user=principal.subject,
        )

    async def leave(self, *, principal: Principal, coalition_id: UUID, org_id: UUID) -> Document:
        self._require_scope(principal, WRITE_SCOPE)
        self._require_admin_of(principal, org_id)
        await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)

        async def authorize(_: Coalition, current: Document | None) -> None:
            if current is None:
                raise NotFound("that organization has no membership in this coalition")

        return await self._change(
            coalition_id=coalition_id,
            org_id=org_id,
            transition=Transition.LEAVE,
            authorize=authorize,
            actor=org_id,
            by_user=principal.subject,
        )

    # ---- data-sharing agreements -------------------------------------------------------------------

    async def set_sharing(
        self, *, principal: Principal, coalition_id: UUID, org_id: UUID, level: SharingLevel
    ) -> Document:
        """A lead proposes contacts (they wait for the member's acceptance); `aggregate_only` is either
        side stepping back, at once: the lead's admins, or the member organization's own."""
        self._require_scope(principal, WRITE_SCOPE)
        standing = await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        actor: UUID | None
        if level is SharingLevel.AGGREGATE_ONLY and self.administers(principal, org_id):
            side, actor = Side.MEMBER, org_id
        else:
            side, actor = Side.LEAD, await self._require_manager(principal, standing.coalition)
        now = utcnow()

        def decide(agreement: Agreement) -> Decision:
            if side is Side.MEMBER:
                return sharing.withdraw(agreement, side=side)
            proposal = Proposal(level=level, at=now, by_org=actor, by_user=principal.subject)
            return sharing.propose(
                agreement,
                level=level,
                proposal=proposal,
                member_consents=self.consents_for(principal, org_id),
            )

        return await self._agree(
            coalition_id=coalition_id, org_id=org_id, decide=decide, actor=actor, by_user=principal.subject
        )

    async def accept_sharing(self, *, principal: Principal, coalition_id: UUID, org_id: UUID) -> Document:
        """The member organization's admins accept the pending proposal; contacts are shared from now."""
        self._require_scope(principal, WRITE_SCOPE)
        if not self.consents_for(principal, org_id):
            raise Forbidden(
                "only the organization's admins and owners, signed in, accept a data-sharing agreement for it"
            )
        await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        now = utcnow()
        return await self._agree(
            coalition_id=coalition_id,
            org_id=org_id,
            decide=lambda agreement: sharing.accept(agreement, at=now, by_user=principal.subject),
            actor=org_id,
            by_user=principal.subject,
        )

    async def decline_sharing(self, *, principal: Principal, coalition_id: UUID, org_id: UUID) -> Document:
        """The member organization's admins refuse the pending proposal."""
        self._require_scope(principal, WRITE_SCOPE)
        self._require_admin_of(principal, org_id)
        await self.standing(principal=principal, coalition_id=coalition_id, scope=WRITE_SCOPE)
        return await self._agree(
            coalition_id=coalition_id,
            org_id=org_id,
            decide=sharing.decline,
            actor=org_id,
            by_user=principal.subject,
        )

    async def _agree(
        self,
        *,
        coalition_id: UUID,
        org_id: UUID,
        decide: Callable[[Agreement], Decision],
        actor: UUID | None,
        by_user: str,
    ) -> Document:
        async def work(session: Session) -> Document:
            current = await self.repo.get_membership(coalition_id, org_id, session)
            if current is None or not MembershipState(current["state"]).is_member:
                raise NotFound("that organization is not a member of this coalition")
            return await self._record_agreement(
                session, current, decide(agreement_of(current)), actor=actor, by_user=by_user
            )

        return await in_transaction(self.client, work)

    async def _record_agreement(
        self,
        session: Session,
        current: Document,
        decision: Decision,
        *,
        actor: UUID | None,
        by_user: str,
        reason: str | None = None,
    ) -> Document:
        """Store the agreement after `decision` with its history record, and announce it."""
        change = decision.change
        if change is None:
            return current
        before, after = agreement_of(current), decision.agreement
        now = utcnow()
        record: Document = {
            "transition": change.value,
            "at": now,
            "actor_org": actor,
            "by": by_user,
            "level": after.level.value,
            "proposed_level": after.proposal.level.value if after.proposal else None,
        }
        if reason:
            record["reason"] = reason
        doc = {
            **current,
            **agreement_fields(after),
            "updated_at": now,
            "history": [*current.get("history", []), record],
        }
        await self.repo.upsert_membership(doc, session)
        payload: ev._MembershipEvent
        if change.changes_level:
            proposal = after.acceptance.proposal if after.acceptance else None
            payload = self._event(
                ev.SharingAgreementChanged,
                doc,
                actor=actor,
                reason=reason,
                # What consumers were told before: an unaccepted agreement was announced as recorded.
                previous_sharing_level=(before.recorded_level if before.needs_acceptance else before.level),
                changed_by_user=by_user,
                proposed_by_organization_id=proposal.by_org if proposal else None,
                proposed_by_user=proposal.by_user if proposal else None,
            )
        elif change is Change.PROPOSED:
            payload = self._event(ev.SharingAgreementProposed, doc, actor=actor, proposed_by_user=by_user)
        elif change is Change.DECLINED:
            payload = self._event(ev.SharingAgreementDeclined, doc, actor=actor, declined_by_user=by_user)
        else:
            payload = self._event(
                ev.SharingAgreementProposalWithdrawn, doc, actor=actor, withdrawn_by_user=by_user
            )
        await self._emit(session, payload, current["coalition_id"])
        return doc

    async def require_member_acceptance(self) -> int:
        """Reset agreements recorded as sharing contacts without the member organization's acceptance
        (made before acceptance existed) to `aggregate_only`, the lead's request kept as a pending
        proposal for the member to accept. Runs at start-up and with every sweep of the worker."""
        reset = 0
        while batch := await self.repo.agreements_needing_acceptance():
            done = 0
            for found in batch:
                done += await in_transaction(self.client, partial(self._reset_unaccepted, found=found))
            reset += done
            if done == 0:
                break
        return reset

    async def _reset_unaccepted(self, session: Session, found: Document) -> int:
        current = await self.repo.get_membership(found["coalition_id"], found["org_id"], session)
        if current is None or not agreement_of(current).needs_acceptance:
            return 0
        asked = next(
            (
                r
                for r in reversed(current.get("history", []))
                if r.get("transition") == "sharing_changed"
                and r.get("level") == SharingLevel.CONTACTS_WITH_CONSENT.value
            ),
            None,
        )
        decision = sharing.require_acceptance(
            agreement_of(current),
            proposal=Proposal(
                level=SharingLevel.CONTACTS_WITH_CONSENT,
                at=asked["at"] if asked else utcnow(),
                by_org=asked.get("actor_org") if asked else None,
                by_user=(asked.get("by") if asked else None) or SERVICE_ACTOR,
            ),
        )
        if not MembershipState(current["state"]).is_member:
            decision = Decision(sharing.AGGREGATE_ONLY, decision.change)  # nothing left to accept
        await self._record_agreement(
            session, current, decision, actor=None, by_user=SERVICE_ACTOR, reason="member_acceptance_required"
        )
        return 1

    async def sweep(self) -> None:
        """The worker's periodic work: expire due invitations, reset unaccepted agreements."""
        await self.expire_due_invitations()
        await self.require_member_acceptance()

    async def expire_due_invitations(self) -> int:
        """Move invitations past their deadline to expired (the worker calls this periodically)."""
        expired = 0
        for doc in await self.repo.due_invitations(utcnow()):
            try:
                await self._expire_if_due(doc["coalition_id"], doc["org_id"])
            except Gone:
                expired += 1
            except Conflict:
                continue
        return expired

    # ---- the organization projection (identity events) -------------------------------------------

    async def organization_seen(self, *, org_id: UUID, name: str, slug: str, session: Session) -> None:
        await self.repo.upsert_organization(org_id, {"name": name, "slug": slug}, session)

    async def organization_deactivated(self, *, org_id: UUID, session: Session) -> None:
        """Suspend the organization's active memberships; the events say why."""
        await self.repo.upsert_organization(org_id, {"active": False}, session)
        for current in await self.repo.memberships_of_org(org_id, [MembershipState.ACTIVE], session):
            doc = self._membership_doc(
                current["coalition_id"],
                org_id,
                CoalitionRole(current["role"]),
                MembershipState.SUSPENDED,
                current,
            )
            doc["history"].append(
                {
                    "transition": "suspend",
                    "at": doc["updated_at"],
                    "actor_org": None,
                    "reason": "organization_deactivated",
                }
            )
            await self.repo.upsert_membership(doc, session)
            await self._emit(
                session,
                self._event(ev.MembershipSuspended, doc, actor=None, reason="organization_deactivated"),
                current["coalition_id"],
            )
