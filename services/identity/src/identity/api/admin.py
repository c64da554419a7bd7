"""Routes for platform admins."""

from __future__ import annotations

from fastapi import APIRouter

from common.auth import CurrentPrincipal
from identity.api.deps import ServiceDep
from identity.api.schemas import KeyRotated

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/signing-keys/rotate", response_model=KeyRotated, summary="Rotate the token signing key")
async def rotate_signing_key(principal: CurrentPrincipal, service: ServiceDep) -> KeyRotated:
    return KeyRotated(kid=await service.rotate_signing_key(principal=principal))
