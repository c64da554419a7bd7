"""Identity operations that need its database and secrets: rotating the signing key, the first platform admin.

They run identity's own code (SigningKeys.rotate, IdentityService.register_user) with identity's settings
from the environment (IDENTITY_KEY_ENCRYPTION_SECRET above all: a key sealed with another secret could not
be opened by the service).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coalitionctl.config import CtlSettings
from coalitionctl.services import service_settings
from common.runtime import Role
from identity.app import create_app
from identity.keys import SIGNING_KEYS
from identity.repository import USERS
from identity.service import IdentityService


@dataclass(frozen=True)
class Rotation:
    new_kid: str
    published: list[str]


def _identity(settings: CtlSettings, overrides: dict[str, Any]) -> IdentityService:
    app = create_app(service_settings("identity", settings, **overrides), role=Role.API)
    service: IdentityService = app.state.identity
    return service


async def rotate_signing_key(settings: CtlSettings, overrides: dict[str, Any]) -> Rotation:
    """A new current key; the old ones stay in the JWKS until the tokens they signed have expired."""
    service = _identity(settings, overrides)
    try:
        kid = await service.keys.rotate()
        jwks = await service.keys.jwks()
        return Rotation(kid, [str(k["kid"]) for k in jwks["keys"]])
    finally:
        await service.client.close()


async def signing_keys(settings: CtlSettings, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    service = _identity(settings, overrides)
    try:
        records = (
            await service.keys.db[SIGNING_KEYS].find({}, {"private_jwk": 0}).sort("created_at", -1).to_list()
        )
        return [
            {
                "kid": r["_id"],
                "created_at": r["created_at"].isoformat(),
                "retired_at": r["retired_at"] and r["retired_at"].isoformat(),
            }
            for r in records
        ]
    finally:
        await service.client.close()


class AdminExists(Exception):
    pass


async def create_first_admin(
    settings: CtlSettings,
    overrides: dict[str, Any],
    *,
    email: str,
    password: str,
    display_name: str,
    another: bool,
) -> str:
    """Register a platform admin (its e-mail address counts as verified); refused if one exists, unless `another`."""
    service = _identity(settings, overrides)
    try:
        existing = await service.repo.db[USERS].find_one({"platform_admin": True}, {"email": 1})
        if existing is not None and not another:
            raise AdminExists(existing["email"])
        user = await service.register_user(
            email=email, password=password, display_name=display_name, platform_admin=True
        )
        return str(user.id)
    finally:
        await service.client.close()
