"""What the action intake and the pages read on every request, cached with invalidation.

A hot campaign's actions all read the same link, campaign and coalition membership. Reading them from
MongoDB on each request costs a round trip each; instead they are kept in memory and forgotten:
- at once in this process, after any use case here that changes them commits;
- within milliseconds in every replica, from a change stream on the three collections;
- in any case after `ttl_seconds`, should the change stream be unavailable.
Only what decides whether an action is taken is cached; totals are never read here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, TypeVar
from uuid import UUID

from campaigns.domain.campaigns import Campaign
from campaigns.repository import CAMPAIGNS, LINKS, MEMBERSHIPS, CampaignRepository, Link, Membership
from common.access import ORGS, AccessProjection, OrganizationProfile

log = logging.getLogger(__name__)
T = TypeVar("T")
_MISSING = object()


class Lookups:
    def __init__(self, repo: CampaignRepository, *, ttl_seconds: float = 5.0) -> None:
        self.repo = repo
        self.ttl = ttl_seconds
        self._entries: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._generation = 0
        self._watcher: asyncio.Task[None] | None = None
        self.access = AccessProjection(repo.db)

    def forget(self) -> None:
        """Drop everything (changes are rare next to actions, so precision is not worth the bookkeeping)."""
        self._entries.clear()
        self._generation += 1

    async def _cached(self, key: tuple[Any, ...], load: Any) -> Any:
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._generation
        value = await load()
        if generation == self._generation:  # nothing changed while we were reading
            self._entries[key] = (now + self.ttl, value)
        return value

    async def link(self, ref: str) -> Link | None:
        result: Link | None = await self._cached(("link", ref), lambda: self.repo.link(ref))
        return result

    async def campaign(self, campaign_id: UUID) -> Campaign | None:
        result: Campaign | None = await self._cached(
            ("campaign", campaign_id), lambda: self.repo.get_campaign(campaign_id)
        )
        return result

    async def membership(self, coalition_id: UUID, org_id: UUID) -> Membership | None:
        result: Membership | None = await self._cached(
            ("membership", coalition_id, org_id), lambda: self.repo.membership(coalition_id, org_id)
        )
        return result

    async def organization(self, org_id: UUID) -> OrganizationProfile | None:
        """An organization's name, logo, privacy notice and embed origins, as identity's events say."""
        result: OrganizationProfile | None = await self._cached(
            ("organization", org_id), lambda: self.access.organization(org_id)
        )
        return result

    # ---- invalidation from other replicas ----------------------------------------------------------

    def start(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    async def _watch(self) -> None:
        pipeline = [{"$match": {"ns.coll": {"$in": [CAMPAIGNS, LINKS, MEMBERSHIPS, ORGS]}}}]
        while True:
            try:
                async with await self.repo.db.watch(pipeline) as stream:
                    self.forget()  # anything may have changed before the stream opened
                    async for _ in stream:
                        self.forget()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("lookup change stream unavailable; cached entries expire after %ss", self.ttl)
                self.forget()
                await asyncio.sleep(max(self.ttl, 1.0))
