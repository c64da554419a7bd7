"""Dependencies of the identity API: the service, and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.web import client_address
from identity.service import IdentityService


async def get_service(request: Request) -> IdentityService:
    service: IdentityService = request.app.state.identity
    return service


ServiceDep = Annotated[IdentityService, Depends(get_service)]


async def _client_address(request: Request) -> str:
    return client_address(request, trust_forwarded_for=request.app.state.settings.trust_forwarded_for)


ClientAddress = Annotated[str, Depends(_client_address)]
