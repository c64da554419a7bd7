"""Dependencies of the identity API: the service, and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from identity.service import IdentityService


def get_service(request: Request) -> IdentityService:
    service: IdentityService = request.app.state.identity
    return service


ServiceDep = Annotated[IdentityService, Depends(get_service)]


def client_address(request: Request) -> str:
    """The caller's address: the connection's peer, or X-Forwarded-For's first hop behind a trusted proxy."""
    if request.app.state.settings.trust_forwarded_for:
        first = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        if first:
            return first
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
