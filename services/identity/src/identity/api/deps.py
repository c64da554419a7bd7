"""Dependencies of the identity API: the service, and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from identity.service import IdentityService


def get_service(request: Request) -> IdentityService:
    service: IdentityService = request.app.state.identity
    return service


ServiceDep = Annotated[IdentityService, Depends(get_service)]
