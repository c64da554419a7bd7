"""Data portability: everything the platform holds about one organization, from every service's database.

Each service's collections are searched for documents that belong to the organization (its own record and
every document whose organization field names it), plus, in identity, the accounts of its members. Secrets
(password hashes, token digests, sealed keys and webhook secrets) are never exported; the archive says
where they were left out. Internal bookkeeping (outbox, inbox, leases, counters, login throttles) is skipped.
"""

from __future__ import annotations

import base64
import contextlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.binary import Binary

from coalitionctl.config import SERVICES, CtlSettings
from common.mongo import create_client

ORG_FIELDS = ("org_id", "organization_id", "owner_org_id", "owner_organization_id")
SKIPPED = {"outbox", "outbox_keys", "outbox_lease", "inbox", "signing_keys", "login_attempts", "idempotency"}
SECRET = re.compile(r"(password|secret|token|private|_hash$|^hash$|digest)", re.IGNORECASE)
REDACTED = "[not exported: secret]"
FORMAT = "coalition-platform/organization-export/v1"


def _plain(value: Any, key: str = "") -> Any:
    """A BSON value as JSON, with secrets left out."""
    if key and SECRET.search(key) and key not in ("token_expires_at",):
        return REDACTED
    if isinstance(value, dict):
        return {str(k): _plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, uuid.UUID | ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Binary | bytes):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    return value


def _matches(org_id: str) -> dict[str, Any]:
    forms: list[Any] = [org_id]
    with contextlib.suppress(ValueError):
        forms.append(uuid.UUID(org_id))
    return {"$or": [{field: {"$in": forms}} for field in ("_id", *ORG_FIELDS)]}


async def export_organization(settings: CtlSettings, org_id: str) -> dict[str, Any]:
    client = create_client(settings.mongodb_url, app_name="coalitionctl")
    try:
        services: dict[str, dict[str, list[Any]]] = {}
        found = 0
        for service in SERVICES:
            db = client[settings.database(service)]
            held: dict[str, list[Any]] = {}
            for name in sorted(await db.list_collection_names()):
                if name in SKIPPED or name.startswith("system."):
                    continue
                documents = await db[name].find(_matches(org_id)).to_list()
                if documents:
                    held[name] = [_plain(d) for d in documents]
            if service == "identity" and "memberships" in held:
                members = [m.get("user_id") for m in held["memberships"] if m.get("user_id")]
                ids: list[Any] = [*members, *(uuid.UUID(m) for m in members)]
                held["users (members)"] = [
                    _plain(u) for u in await db["users"].find({"_id": {"$in": ids}}).to_list()
                ]
            services[service] = held
            found += sum(len(v) for v in held.values())
        return {
            "format": FORMAT,
            "organization_id": org_id,
            "exported_at": datetime.now(UTC).isoformat(),
            "documents": found,
            "secrets": "password hashes, token digests, sealed keys and webhook secrets are never exported",
            "services": services,
        }
    finally:
        await client.close()
