"""Routes: coalitions, the directory, and the membership lifecycle."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status

from coalition.api.schemas import (
    Application,
    CoalitionCreate,
    CoalitionPage,
    CoalitionRead,
    CoalitionUpdate,
    Invite,
    MembershipRead,
    OrganizationCoalition,
    Reason,
    RoleChange,
    SharingChange,
    SharingProposalRead,
)
from coalition.domain.coalitions import Coalition
from coalition.domain.memberships import SharingLevel, Transition
from coalition.repository import agreement_of
from coalition.service import CoalitionService, NewCoalition
from common.auth import CurrentPrincipal, OptionalPrincipal
from common.mongo import Document
from common.paging import decode_cursor, next_cursor

router = APIRouter(prefix="/v1", tags=["coalitions"])


async def get_service(request: Request) -> CoalitionService:
    service: CoalitionService = request.app.state.coalition
    return service


ServiceDep = Annotated[CoalitionService, Depends(get_service)]


def _read(coalition: Coalition) -> CoalitionRead:
    return CoalitionRead.model_validate(coalition.model_dump())


def _membership(doc: Document, *, with_agreement: bool = True) -> MembershipRead:
    agreement = agreement_of(doc)
    proposal = agreement.proposal
    return MembershipRead(
        coalition_id=doc["coalition_id"],
        organization_id=doc["org_id"],
        organization_name=(doc.get("organization") or {}).get("name"),
        role=doc["role"],
        state=doc["state"],
        sharing_level=agreement.level if with_agreement else None,
        sharing_proposal=(
            SharingProposalRead(
                level=proposal.level, proposed_at=proposal.at, proposed_by_organization_id=proposal.by_org
            )
            if with_agreement and proposal
            else None
        ),
        sharing_accepted_at=(
            agreement.acceptance.at
            if with_agreement
            and agreement.acceptance
            and agreement.level is SharingLevel.CONTACTS_WITH_CONSENT
            else None
        ),
        expires_at=doc.get("expires_at"),
        updated_at=doc["updated_at"],
    )


@router.post(
    "/coalitions",
    status_code=status.HTTP_201_CREATED,
    response_model=CoalitionRead,
    summary="Create a coalition as an organization (its admins); it becomes the first lead",
)
async def create_coalition(
    body: CoalitionCreate, principal: CurrentPrincipal, service: ServiceDep
) -> CoalitionRead:
    new = NewCoalition(
        organization_id=body.organization_id,
        slug=body.slug,
        name=body.name,
        mission=body.mission,
        focus_areas=body.focus_areas,
        countries=body.countries,
        visibility=body.visibility,
        website=str(body.website) if body.website else None,
        require_current_disclosure=body.require_current_disclosure,
    )
    return _read(await service.create_coalition(principal=principal, new=new))


@router.get("/coalitions", response_model=CoalitionPage, summary="Directory of public coalitions")
async def directory(
    service: ServiceDep,
    focus_area: Annotated[str | None, Query(max_length=80)] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=100,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="Text in name, mission, focus",
        ),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> CoalitionPage:
    items = await service.directory(
        after=decode_cursor(cursor),
        limit=limit,
        focus_area=focus_area.lower() if focus_area else None,
        country=country,
        text=q,
    )
    return CoalitionPage(
        items=[_read(c) for c in items], next_cursor=next_cursor([c.id for c in items], limit)
    )


@router.get("/coalitions/{coalition_id}", response_model=CoalitionRead, summary="A coalition's profile")
async def read_coalition(
    coalition_id: UUID, principal: OptionalPrincipal, service: ServiceDep
) -> CoalitionRead:
    return _read((await service.standing(principal=principal, coalition_id=coalition_id)).coalition)


@router.patch("/coalitions/{coalition_id}", response_model=CoalitionRead, summary="Update (lead admins)")
async def update_coalition(
    coalition_id: UUID, body: CoalitionUpdate, principal: CurrentPrincipal, service: ServiceDep
) -> CoalitionRead:
    return _read(
        await service.update_coalition(principal=principal, coalition_id=coalition_id, changes=body.changes())
    )


@router.post(
    "/coalitions/{coalition_id}/archive", response_model=CoalitionRead, summary="Archive (lead admins)"
)
async def archive_coalition(
    coalition_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> CoalitionRead:
    return _read(await service.archive_coalition(principal=principal, coalition_id=coalition_id))


@router.get(
    "/coalitions/{coalition_id}/members",
    response_model=list[MembershipRead],
    summary="Member organizations and their roles (members and observers)",
)
async def members(
    coalition_id: UUID, principal: OptionalPrincipal, service: ServiceDep
) -> list[MembershipRead]:
    standing, docs = await service.members(principal=principal, coalition_id=coalition_id)
    return [_membership(d, with_agreement=standing.reads_agreements) for d in docs]


@router.get(
    "/organizations/{org_id}/coalitions",
    response_model=list[OrganizationCoalition],
    summary="An organization's coalitions (public ones only, unless you act for it)",
)
async def coalitions_of_org(
    org_id: UUID, principal: OptionalPrincipal, service: ServiceDep
) -> list[OrganizationCoalition]:
    pairs = await service.coalitions_of_org(principal=principal, org_id=org_id)
    return [OrganizationCoalition(coalition=_read(c), role=m["role"], state=m["state"]) for c, m in pairs]


@router.post(
    "/coalitions/{coalition_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=MembershipRead,
    summary="Invite an organization as lead, member or observer",
)
async def invite(
    coalition_id: UUID, body: Invite, principal: CurrentPrincipal, service: ServiceDep
) -> MembershipRead:
    return _membership(
        await service.invite(
            principal=principal, coalition_id=coalition_id, org_id=body.organization_id, role=body.role
        )
    )


@router.post(
    "/coalitions/{coalition_id}/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=MembershipRead,
    summary="Apply to join a public coalition",
)
async def apply(
    coalition_id: UUID, body: Application, principal: CurrentPrincipal, service: ServiceDep
) -> MembershipRead:
    return _membership(
        await service.apply(
            principal=principal, coalition_id=coalition_id, org_id=body.organization_id, message=body.message
        )
    )


MembershipPath = "/coalitions/{coalition_id}/memberships/{org_id}"
INVITATION_EXPIRED: dict[int | str, dict[str, Any]] = {410: {"description": "The invitation has expired"}}


@router.post(
    MembershipPath + "/accept",
    response_model=MembershipRead,
    responses=INVITATION_EXPIRED,
    summary="Accept an invitation (invitee)",
)
async def accept(
    coalition_id: UUID, org_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> MembershipRead:
    return _membership(
        await service.answer_invitation(
            principal=principal, coalition_id=coalition_id, org_id=org_id, accept=True
        )
    )


@router.post(
    MembershipPath + "/decline",
    response_model=MembershipRead,
    responses=INVITATION_EXPIRED,
    summary="Decline an invitation (invitee)",
)
async def decline(
    coalition_id: UUID, org_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> MembershipRead:
    return _membership(
        await service.answer_invitation(
            principal=principal, coalition_id=coalition_id, org_id=org_id, accept=False
        )
    )


@router.post(
    MembershipPath + "/leave", response_model=MembershipRead, summary="Leave the coalition (the member)"
)
async def leave(
    coalition_id: UUID, org_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> MembershipRead:
    return _membership(await service.leave(principal=principal, coalition_id=coalition_id, org_id=org_id))


def _lead_action(transition: Transition, summary: str) -> None:
    async def act(
        coalition_id: UUID,
        org_id: UUID,
        principal: CurrentPrincipal,
        service: ServiceDep,
        body: Reason | None = None,
    ) -> MembershipRead:
        return _membership(
            await service.manage(
                principal=principal,
                coalition_id=coalition_id,
                org_id=org_id,
                transition=transition,
                reason=body.reason if body else None,
            )
        )

    act.__name__ = transition.value
    router.post(MembershipPath + f"/{transition.value}", response_model=MembershipRead, summary=summary)(act)


_lead_action(Transition.APPROVE, "Approve an application (lead admins)")
_lead_action(Transition.REJECT, "Reject an application (lead admins)")
_lead_action(Transition.SUSPEND, "Suspend a member (lead admins)")
_lead_action(Transition.REINSTATE, "Reinstate a suspended member (lead admins)")


@router.patch(MembershipPath, response_model=MembershipRead, summary="Change a member's role (lead admins)")
async def change_role(
    coalition_id: UUID, org_id: UUID, body: RoleChange, principal: CurrentPrincipal, service: ServiceDep
) -> MembershipRead:
    return _membership(
        await service.manage(
            principal=principal,
            coalition_id=coalition_id,
            org_id=org_id,
            transition=Transition.CHANGE_ROLE,
            role=body.role,
        )
    )


@router.delete(MembershipPath, response_model=MembershipRead, summary="Remove a member (lead admins)")
async def remove(
    coalition_id: UUID, org_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> MembershipRead:
    return _membership(
        await service.manage(
            principal=principal, coalition_id=coalition_id, org_id=org_id, transition=Transition.REMOVE
        )
    )


@router.put(
    MembershipPath + "/sharing",
    response_model=MembershipRead,
    summary="Propose or step back from a data-sharing agreement",
    description=(
        "`contacts_with_consent`: lead admins propose it; it takes effect only when the member "
        "organization's admins accept (`POST …/sharing/accept`), and at once when the proposer is an admin "
        "of the member organization itself. `aggregate_only`: lead admins or the member organization's "
        "admins return to aggregates only, at once, cancelling a pending proposal."
    ),
)
async def set_sharing(
    coalition_id: UUID, org_id: UUID, body: SharingChange, principal: CurrentPrincipal, service: ServiceDep
) -> MembershipRead:
    return _membership(
        await service.set_sharing(
            principal=principal, coalition_id=coalition_id, org_id=org_id, level=body.level
        )
    )


def _sharing_answer(answer: str, summary: str) -> None:
    """`POST …/sharing/accept` and `…/decline`: the member organization answers a lead's proposal."""

    async def act(
        coalition_id: UUID, org_id: UUID, principal: CurrentPrincipal, service: ServiceDep
    ) -> MembershipRead:
        call = service.accept_sharing if answer == "accept" else service.decline_sharing
        return _membership(await call(principal=principal, coalition_id=coalition_id, org_id=org_id))

    act.__name__ = f"{answer}_sharing"
    router.post(MembershipPath + f"/sharing/{answer}", response_model=MembershipRead, summary=summary)(act)


_sharing_answer(
    "accept", "Accept the proposed data-sharing agreement (admins and owners of the member organization)"
)
_sharing_answer("decline", "Decline the proposed data-sharing agreement (the member organization's admins)")
