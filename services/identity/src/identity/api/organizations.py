"""Routes: organizations, their members, invitations and API clients."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from common.auth import CurrentPrincipal
from common.mongo import Document
from common.paging import decode_cursor, next_cursor
from identity.api.deps import ServiceDep
from identity.api.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    Deactivation,
    DisclosuresPut,
    DisclosuresRead,
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    MemberRead,
    OrganizationCreate,
    OrganizationPage,
    OrganizationRead,
    OrganizationUpdate,
    RoleChange,
)
from identity.domain.disclosures import Funder
from identity.domain.organizations import Organization, OrgKind
from identity.service import NewOrganization

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])
invitations_router = APIRouter(prefix="/v1/invitations", tags=["invitations"])


def _invitation(doc: Document) -> InvitationRead:
    return InvitationRead(
        id=doc["_id"],
        organization_id=doc["org_id"],
        email=doc["email"],
        role=doc["role"],
        status=doc["status"],
        expires_at=doc["expires_at"],
        created_at=doc["created_at"],
    )


def _member(doc: Document) -> MemberRead:
    """A membership with its user embedded (`doc["user"]`)."""
    return MemberRead(
        user_id=doc["user_id"],
        display_name=doc["user"]["display_name"],
        email=doc["user"]["email"],
        role=doc["role"],
        joined_at=doc["created_at"],
    )


def _client(doc: Document) -> ClientRead:
    return ClientRead(
        client_id=doc["_id"],
        organization_id=doc["org_id"],
        name=doc["name"],
        scopes=doc["scopes"],
        status=doc["status"],
        created_at=doc["created_at"],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationRead,
    summary="Register an organization; the caller becomes its owner",
)
async def register_organization(
    body: OrganizationCreate, principal: CurrentPrincipal, service: ServiceDep
) -> Organization:
    new = NewOrganization(
        slug=body.slug,
        name=body.name,
        kind=body.kind,
        country=body.country,
        website=str(body.website) if body.website else None,
        description=body.description,
        logo_url=str(body.logo_url) if body.logo_url else None,
        privacy_notice_url=str(body.privacy_notice_url) if body.privacy_notice_url else None,
        embed_origins=body.embed_origins,
    )
    return await service.register_organization(principal=principal, new=new)


@router.get("", response_model=OrganizationPage, summary="Directory of active organizations")
async def list_organizations(
    service: ServiceDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    kind: OrgKind | None = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
) -> OrganizationPage:
    orgs = await service.list_organizations(
        after=decode_cursor(cursor), limit=limit, kind=kind.value if kind else None, country=country
    )
    return OrganizationPage(
        items=[OrganizationRead.model_validate(o.model_dump()) for o in orgs],
        next_cursor=next_cursor([o.id for o in orgs], limit),
    )


@router.get("/{org_id}", response_model=OrganizationRead, summary="An organization's public profile")
async def read_organization(org_id: UUID, service: ServiceDep) -> Organization:
    return await service.get_organization(org_id=org_id)


@router.patch("/{org_id}", response_model=OrganizationRead, summary="Update the profile (admins)")
async def update_organization(
    org_id: UUID, body: OrganizationUpdate, principal: CurrentPrincipal, service: ServiceDep
) -> Organization:
    return await service.update_organization(principal=principal, org_id=org_id, changes=body.changes())


@router.post(
    "/{org_id}/deactivate", response_model=OrganizationRead, summary="Deactivate (owners or platform admins)"
)
async def deactivate_organization(
    org_id: UUID, principal: CurrentPrincipal, service: ServiceDep, body: Deactivation | None = None
) -> Organization:
    reason = body.reason if body else None
    return await service.deactivate_organization(principal=principal, org_id=org_id, reason=reason)


@router.post("/{org_id}/verify", response_model=OrganizationRead, summary="Mark verified (platform admins)")
async def verify_organization(org_id: UUID, principal: CurrentPrincipal, service: ServiceDep) -> Organization:
    return await service.verify_organization(principal=principal, org_id=org_id)


def _disclosures(doc: Document) -> DisclosuresRead:
    return DisclosuresRead(
        organization_id=doc["_id"],
        funders=doc["funders"],
        declared_at=doc["declared_at"],
        declared_by=doc["declared_by"],
        updated_at=doc["updated_at"],
    )


@router.put(
    "/{org_id}/disclosures",
    response_model=DisclosuresRead,
    summary="Declare the organization's funders, replacing the current declaration (owners and admins)",
)
async def declare_funding(
    org_id: UUID, body: DisclosuresPut, principal: CurrentPrincipal, service: ServiceDep
) -> DisclosuresRead:
    funders = [Funder.model_validate(f.model_dump()) for f in body.funders]
    doc = await service.declare_funding(
        principal=principal, org_id=org_id, funders=funders, declared_at=body.declared_at
    )
    return _disclosures(doc)


@router.get(
    "/{org_id}/disclosures",
    response_model=DisclosuresRead,
    summary="The current funding declaration (members; the public sees it on the organization's campaigns)",
)
async def funding_declaration(
    org_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> DisclosuresRead:
    return _disclosures(await service.funding_declaration(principal=principal, org_id=org_id))


@router.get("/{org_id}/members", response_model=list[MemberRead], summary="Members and roles (members)")
async def list_members(org_id: UUID, principal: CurrentPrincipal, service: ServiceDep) -> list[MemberRead]:
    return [_member(d) for d in await service.list_members(principal=principal, org_id=org_id)]


@router.patch("/{org_id}/members/{user_id}", response_model=MemberRead, summary="Change a member's role")
async def change_role(
    org_id: UUID, user_id: UUID, body: RoleChange, principal: CurrentPrincipal, service: ServiceDep
) -> MemberRead:
    return _member(
        await service.change_member_role(principal=principal, org_id=org_id, user_id=user_id, role=body.role)
    )


@router.delete(
    "/{org_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a member, or leave"
)
async def remove_member(
    org_id: UUID, user_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> None:
    await service.remove_member(principal=principal, org_id=org_id, user_id=user_id)


@router.post(
    "/{org_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationCreated,
    summary="Invite someone by e-mail (admins)",
)
async def invite(
    org_id: UUID, body: InvitationCreate, principal: CurrentPrincipal, service: ServiceDep
) -> InvitationCreated:
    doc, token = await service.invite(principal=principal, org_id=org_id, email=body.email, role=body.role)
    return InvitationCreated(**_invitation(doc).model_dump(), token=token)


@router.get("/{org_id}/invitations", response_model=list[InvitationRead], summary="Invitations (admins)")
async def list_invitations(
    org_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> list[InvitationRead]:
    return [_invitation(d) for d in await service.list_invitations(principal=principal, org_id=org_id)]


@router.delete(
    "/{org_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a pending invitation (admins)",
)
async def revoke_invitation(
    org_id: UUID, invitation_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> None:
    await service.revoke_invitation(principal=principal, org_id=org_id, invitation_id=invitation_id)


@router.post(
    "/{org_id}/clients",
    status_code=status.HTTP_201_CREATED,
    response_model=ClientCreated,
    summary="Create an API client for integrators (admins); the secret is shown once",
)
async def create_client(
    org_id: UUID, body: ClientCreate, principal: CurrentPrincipal, service: ServiceDep
) -> ClientCreated:
    doc, secret = await service.create_client(
        principal=principal, org_id=org_id, name=body.name, scopes=body.scopes
    )
    return ClientCreated(**_client(doc).model_dump(), client_secret=secret)


@router.get("/{org_id}/clients", response_model=list[ClientRead], summary="API clients (admins)")
async def list_clients(org_id: UUID, principal: CurrentPrincipal, service: ServiceDep) -> list[ClientRead]:
    return [_client(d) for d in await service.list_clients(principal=principal, org_id=org_id)]


@router.delete(
    "/{org_id}/clients/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API client (admins)",
)
async def revoke_client(
    org_id: UUID, client_id: str, principal: CurrentPrincipal, service: ServiceDep
) -> None:
    await service.revoke_client(principal=principal, org_id=org_id, client_id=client_id)


@invitations_router.post(
    "/accept",
    response_model=MemberRead,
    responses={
        404: {"description": "No invitation matches this token"},
        410: {"description": "The invitation was already answered, withdrawn or has expired"},
    },
    summary="Accept an invitation sent to the signed-in user's e-mail",
)
async def accept_invitation(
    body: InvitationAccept, principal: CurrentPrincipal, service: ServiceDep
) -> MemberRead:
    return _member(await service.accept_invitation(principal=principal, token=body.token))
