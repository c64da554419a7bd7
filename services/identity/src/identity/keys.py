"""Signing keys: ES256 keys kept encrypted in MongoDB, rotated by age or on demand, published as JWKS."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey
from pymongo import DESCENDING

from common.auth import ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_TYPE
from common.events import new_event_id, utcnow
from common.mongo import Database
from identity.security import KeyVault

SIGNING_KEYS = "signing_keys"


class SigningKeys:
    """The newest key signs; retired keys stay published while tokens they signed can still be valid."""

    def __init__(
        self, db: Database, vault: KeyVault, *, publish_retired_for: timedelta, cache_seconds: float = 5.0
    ) -> None:
        self.db = db
        self.vault = vault
        self.publish_retired_for = publish_retired_for
        self.cache_seconds = cache_seconds
        self._cache: tuple[float, list[dict[str, Any]]] | None = None
        self._private: dict[str, ECKey] = {}

    async def _records(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        if not fresh and self._cache and time.monotonic() - self._cache[0] < self.cache_seconds:
            return self._cache[1]
        horizon = utcnow() - self.publish_retired_for
        records = await (
            self.db[SIGNING_KEYS]
            .find({"$or": [{"retired_at": None}, {"retired_at": {"$gt": horizon}}]})
            .sort("created_at", DESCENDING)
            .to_list()
        )
        self._cache = (time.monotonic(), records)
        return records

    async def ensure_current(self, *, max_age: timedelta) -> str:
        """Make sure a young enough active key exists; returns the signing kid."""
        records = await self._records(fresh=True)
        active = [r for r in records if r.get("retired_at") is None]
        if active and utcnow() - active[0]["created_at"] < max_age:
            return str(active[0]["_id"])
        return await self.rotate()

    async def rotate(self) -> str:
        """Create a new signing key and retire the others (they stay published for a while)."""
        key = ECKey.generate_key("P-256", private=True, auto_kid=False)
        kid = new_event_id()
        now = utcnow()
        public = key.as_dict(private=False)
        public.update({"kid": kid, "use": "sig", "alg": ACCESS_TOKEN_ALGORITHM})
        await self.db[SIGNING_KEYS].insert_one(
            {
                "_id": kid,
                "public_jwk": public,
                "private_jwk": self.vault.seal(json.dumps(key.as_dict(private=True))),
                "created_at": now,
                "retired_at": None,
            }
        )
        await self.db[SIGNING_KEYS].update_many(
            {"_id": {"$ne": kid}, "retired_at": None, "created_at": {"$lte": now}},
            {"$set": {"retired_at": now}},
        )
        self._cache = None
        return kid

    async def jwks(self) -> dict[str, Any]:
        return {"keys": [r["public_jwk"] for r in await self._records()]}

    async def verification_keys(self) -> dict[str, ECKey]:
        return {r["_id"]: ECKey.import_key(r["public_jwk"]) for r in await self._records()}

    async def key_for(self, kid: str) -> ECKey | None:
        """The verification key for `kid` (a KeySource for the identity service's own token checks)."""
        keys = await self.verification_keys()
        if kid not in keys:
            self._cache = None
            keys = await self.verification_keys()
        return keys.get(kid)

    async def sign(self, claims: dict[str, Any]) -> str:
        records = [r for r in await self._records() if r.get("retired_at") is None]
        if not records:
            records = [r for r in await self._records(fresh=True) if r.get("retired_at") is None]
        if not records:
            raise RuntimeError("no active signing key")
        record = records[0]
        key = self._private.get(record["_id"])
        if key is None:
            key = ECKey.import_key(json.loads(self.vault.open(record["private_jwk"])))
            self._private = {record["_id"]: key}
        header = {"alg": ACCESS_TOKEN_ALGORITHM, "kid": record["_id"], "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(header, claims, key, algorithms=[ACCESS_TOKEN_ALGORITHM])


def token_times(now: datetime, ttl: timedelta) -> dict[str, int]:
    issued = int(now.timestamp())
    return {"iat": issued, "nbf": issued, "exp": issued + int(ttl.total_seconds())}
