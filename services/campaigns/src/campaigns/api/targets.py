"""Routes for decision-makers: the directories, letters' deliveries, petition deliveries, and the public
preview of who receives a letter."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from campaigns.api.public import Ref
from campaigns.api.ratelimit import limit_public
from campaigns.api.routes import ServiceDep
from campaigns.api.target_schemas import (
    DeliveredTargetRead,
    ImportReport,
    LetterDeliveryPage,
    LetterDeliveryRead,
    PetitionDeliveryCreate,
    PetitionDeliveryPage,
    PetitionDeliveryRead,
    PublicTarget,
    PublicTargets,
    TargetCreate,
    TargetImport,
    TargetPage,
    TargetRead,
    TargetUpdate,
)
from campaigns.domain.targets import Level, TargetFields
from campaigns.targets_repository import Target
from campaigns.usecases.targets import Directory
from common.auth import CurrentPrincipal
from common.mongo import Document
from common.paging import decode_cursor, next_cursor

router = APIRouter(prefix="/v1", tags=["decision-makers"])
public_router = APIRouter(prefix="/v1/public", tags=["public"], dependencies=[Depends(limit_public)])


def target_read(target: Target) -> TargetRead:
    f = target.fields
    return TargetRead(
        id=target.id,
        version=target.version,
        organization_id=target.organization_id,
        coalition_id=target.coalition_id,
        name=f.name,
        title=f.title,
        office=f.office,
        level=f.level,
        jurisdiction=f.jurisdiction,
        district=f.district,
        email=str(f.email),
        country=f.country,
        postal_codes=f.postal_codes,
        retired=target.retired,
        updated_at=target.updated_at,
    )


@router.post(
    "/targets",
    status_code=status.HTTP_201_CREATED,
    response_model=TargetRead,
    summary="Add a decision-maker to an organization's or a coalition's directory (its organizers)",
)
async def create_target(body: TargetCreate, principal: CurrentPrincipal, service: ServiceDep) -> TargetRead:
    directory = Directory(body.organization_id, body.coalition_id)
    fields = TargetFields.model_validate(body.model_dump(exclude={"organization_id", "coalition_id"}))
    return target_read(await service.create_target(principal=principal, directory=directory, fields=fields))


@router.get(
    "/targets",
    response_model=TargetPage,
    summary="An organization's or a coalition's decision-makers (its people)",
)
async def list_targets(
    principal: CurrentPrincipal,
    service: ServiceDep,
    organization_id: UUID | None = None,
    coalition_id: UUID | None = None,
    level: Level | None = None,
    include_retired: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TargetPage:
    items = await service.list_targets(
        principal=principal,
        directory=Directory(organization_id, coalition_id),
        level=level,
        include_retired=include_retired,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return TargetPage(
        items=[target_read(t) for t in items], next_cursor=next_cursor([t.id for t in items], limit)
    )


@router.post(
    "/target-imports",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportReport,
    responses={
        422: {"description": "Invalid CSV: `errors` lists every row, field and reason; nothing imported"}
    },
    summary="Import decision-makers from CSV: all rows or none, with a report of every error",
)
async def import_targets(
    body: TargetImport, principal: CurrentPrincipal, service: ServiceDep
) -> ImportReport:
    imported = await service.import_targets(
        principal=principal, directory=Directory(body.organization_id, body.coalition_id), text=body.csv
    )
    return ImportReport(
        created=len(imported.created),
        updated=len(imported.updated),
        targets=[target_read(t) for t in (*imported.created, *imported.updated)],
    )


@router.get("/targets/{target_id}", response_model=TargetRead, summary="A decision-maker, as now")
async def read_target(target_id: UUID, principal: CurrentPrincipal, service: ServiceDep) -> TargetRead:
    return target_read(await service.read_target(principal=principal, target_id=target_id))


@router.patch(
    "/targets/{target_id}", response_model=TargetRead, summary="Edit a decision-maker: saves a new version"
)
async def update_target(
    target_id: UUID, body: TargetUpdate, principal: CurrentPrincipal, service: ServiceDep
) -> TargetRead:
    changes = body.model_dump(exclude_unset=True, mode="json")
    return target_read(await service.update_target(principal=principal, target_id=target_id, changes=changes))


@router.delete(
    "/targets/{target_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Retire a decision-maker: no new letters go to them; every version stays readable",
)
async def retire_target(target_id: UUID, principal: CurrentPrincipal, service: ServiceDep) -> Response:
    await service.retire_target(principal=principal, target_id=target_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/targets/{target_id}/versions",
    response_model=list[TargetRead],
    summary="Every version of a decision-maker, oldest first",
)
async def target_versions(
    target_id: UUID, principal: CurrentPrincipal, service: ServiceDep
) -> list[TargetRead]:
    return [target_read(t) for t in await service.target_versions(principal=principal, target_id=target_id)]


# ---- letters ---------------------------------------------------------------------------------------------


@router.get(
    "/campaigns/{campaign_id}/letters/deliveries",
    response_model=LetterDeliveryPage,
    summary="Delivery of the campaign's letters per letter and target: queued, sent, failed (managers)",
)
async def letter_deliveries(
    campaign_id: UUID,
    principal: CurrentPrincipal,
    service: ServiceDep,
    state: Literal["queued", "sent", "failed"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> LetterDeliveryPage:
    items = await service.letter_deliveries(
        principal=principal, campaign_id=campaign_id, state=state, after=decode_cursor(cursor), limit=limit
    )
    return LetterDeliveryPage(
        items=[
            LetterDeliveryRead(
                id=d.id,
                letter_id=d.letter_id,
                organization_id=d.organization_id,
                target_id=d.target_id,
                target_version=d.target_version,
                target_name=d.target_name,
                state=d.state,
                reason=d.reason,
                attempts_failed=d.attempts_failed,
                sent_at=d.sent_at,
                updated_at=d.updated_at,
            )
            for d in items
        ],
        next_cursor=next_cursor([d.id for d in items], limit),
    )


# ---- petitions -------------------------------------------------------------------------------------------


def _delivery(request: Request, doc: Document) -> PetitionDeliveryRead:
    base = f"{request.app.state.settings.base_url}/v1/campaigns/{doc['campaign_id']}/petition-deliveries/{doc['_id']}"
    return PetitionDeliveryRead(
        id=doc["_id"],
        campaign_id=doc["campaign_id"],
        target=DeliveredTargetRead.model_validate(doc["target"]),
        method=doc["method"],
        state=doc["state"],
        reason=doc.get("reason"),
        total_signatures=doc["total_signatures"],
        by_region=doc["by_region"],
        by_organization=doc["by_organization"],
        named_signatories=doc["named_signatories"],
        created_at=doc["created_at"],
        delivered_at=doc.get("delivered_at"),
        pdf_url=f"{base}/pdf",
        csv_url=f"{base}/csv",
    )


@router.post(
    "/campaigns/{campaign_id}/petition-deliveries",
    status_code=status.HTTP_201_CREATED,
    response_model=PetitionDeliveryRead,
    summary="Deliver the petition to its decision-maker: a PDF and a CSV, downloaded or e-mailed (managers)",
)
async def deliver_petition(
    request: Request,
    campaign_id: UUID,
    body: PetitionDeliveryCreate,
    principal: CurrentPrincipal,
    service: ServiceDep,
) -> PetitionDeliveryRead:
    doc = await service.deliver_petition(
        principal=principal,
        campaign_id=campaign_id,
        target_id=body.target_id,
        method=body.method,
        message=body.message,
    )
    return _delivery(request, doc)


@router.get(
    "/campaigns/{campaign_id}/petition-deliveries",
    response_model=PetitionDeliveryPage,
    summary="The petition's deliveries and how each went (managers)",
)
async def petition_deliveries(
    request: Request,
    campaign_id: UUID,
    principal: CurrentPrincipal,
    service: ServiceDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> PetitionDeliveryPage:
    docs = await service.petition_deliveries(
        principal=principal, campaign_id=campaign_id, after=decode_cursor(cursor), limit=limit
    )
    return PetitionDeliveryPage(
        items=[_delivery(request, d) for d in docs], next_cursor=next_cursor([d["_id"] for d in docs], limit)
    )


def _document_route(document: Literal["pdf", "csv"], media_type: str) -> None:
    async def download(
        campaign_id: UUID, delivery_id: UUID, principal: CurrentPrincipal, service: ServiceDep
    ) -> Response:
        content = await service.petition_document(
            principal=principal, campaign_id=campaign_id, delivery_id=delivery_id, document=document
        )
        return Response(
            content,
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="petition-{campaign_id}.{document}"',
                "Cache-Control": "no-store",
            },
        )

    download.__name__ = f"petition_delivery_{document}"
    router.get(
        f"/campaigns/{{campaign_id}}/petition-deliveries/{{delivery_id}}/{document}",
        response_class=Response,
        responses={
            200: {"content": {media_type.split(";")[0]: {}}, "description": f"The delivery's {document}"}
        },
        summary=f"The delivery's {document.upper()}, with the names of consenting signatories (managers)",
    )(download)


_document_route("pdf", "application/pdf")
_document_route("csv", "text/csv; charset=utf-8")


# ---- public ----------------------------------------------------------------------------------------------


def _public_target(target: Target) -> PublicTarget:
    f = target.fields
    return PublicTarget(
        target_id=target.id,
        version=target.version,
        name=f.name,
        title=f.title,
        office=f.office,
        level=f.level,
        jurisdiction=f.jurisdiction,
        district=f.district,
    )


@public_router.get(
    "/links/{ref}/targets",
    response_model=PublicTargets,
    responses={409: {"description": "The campaign sends no letters"}},
    summary="Who will receive a letter sent through this link (by location: give country and postal_code)",
)
async def letter_recipients(
    ref: Ref,
    service: ServiceDep,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    postal_code: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9 -]{2,12}$")] = None,
) -> PublicTargets:
    campaign, targets, named = await service.letter_recipients(
        ref=ref, country=country, postal_code=postal_code
    )
    shown: list[dict[str, Any]] = named
    return PublicTargets(
        campaign_id=campaign.id,
        targeting=campaign.details.get("targeting", "fixed"),
        recipients=[_public_target(t) for t in targets],
        named=[PublicTarget(target_id=None, version=None, **n) for n in shown],
    )
