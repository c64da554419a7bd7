"""The directory of decision-makers (targets) of an organization or a coalition, and lookup by location.

Who may do what follows the campaigns: an organization's directory is read by its people and kept by its
organizers; a coalition's is read by the people of its member and observer organizations and kept by
the organizers of its active leads. API clients need `campaigns:read` to read and `campaigns:write` to
change, checked before anything is looked up. Every change saves a new version; old ones stay readable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from campaigns.domain.campaigns import Campaign
from campaigns.domain.targets import LEVEL_ORDER, Level, RowError, TargetFields, parse_csv
from campaigns.targets_repository import Target, TargetRepository
from campaigns.usecases.base import READ_SCOPE, WRITE_SCOPE
from campaigns.usecases.lifecycle import Lifecycle
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.events import utcnow
from common.mongo import Session, in_transaction


@dataclass(frozen=True)
class Directory:
    """Whose directory: exactly one of an organization or a coalition."""

    organization_id: UUID | None = None
    coalition_id: UUID | None = None

    def __post_init__(self) -> None:
        if (self.organization_id is None) == (self.coalition_id is None):
            raise InvalidInput(
                "name the directory: an organization_id or a coalition_id, not both", field="organization_id"
            )

    @classmethod
    def of(cls, target: Target) -> Directory:
        return cls(target.organization_id, target.coalition_id)


@dataclass(frozen=True)
class Imported:
    created: list[Target]
    updated: list[Target]


class ImportRefused(InvalidInput):
    """The CSV has errors: nothing was imported; `errors` lists every one (row, field, reason)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(
            f"the CSV has {len(errors)} error(s); nothing was imported",
            errors=[{**e.model_dump(), "message": f"row {e.row}, {e.field}: {e.reason}"} for e in errors],
        )


class Targets(Lifecycle):
    """Decision-makers: the directory, its versions, and who represents a place."""

    @property
    def targets_repo(self) -> TargetRepository:
        return TargetRepository(self.repo.db)

    # ---- who may read and keep a directory -----------------------------------------------------------

    async def _may(self, principal: Principal, directory: Directory, *, keep: bool) -> bool:
        if principal.platform_admin:
            return True
        if directory.organization_id is not None:
            org = directory.organization_id
            if keep:
                return self.organizes(principal, org)
            return org in self.acting_orgs(principal)
        assert directory.coalition_id is not None
        for doc in await self.repo.memberships_of_orgs(list(self.acting_orgs(principal))):
            if doc["coalition_id"] != directory.coalition_id:
                continue
            if keep:
                if (
                    doc["state"] == "active"
                    and doc["role"] == "lead"
                    and self.organizes(principal, doc["org_id"])
                ):
                    return True
            elif doc["state"] in ("active", "suspended"):
                return True
        return False

    async def _require(self, principal: Principal, directory: Directory, *, keep: bool) -> None:
        if not await self._may(principal, directory, keep=keep):
            raise Forbidden(
                "only the organization's organizers (or a coalition lead's) keep this directory"
                if keep
                else "you do not take part in the organization or coalition of this directory"
            )

    async def _target(self, principal: Principal, target_id: UUID, *, keep: bool) -> Target:
        """The target, to one who may see it (a 404 to others), and may keep it when `keep`."""
        target = await self.targets_repo.get_target(target_id)
        if target is None or not await self._may(principal, Directory.of(target), keep=False):
            raise NotFound("no such target")
        if keep:
            await self._require(principal, Directory.of(target), keep=True)
        return target

    # ---- the directory ---------------------------------------------------------------------------------

    async def create_target(
        self, *, principal: Principal, directory: Directory, fields: TargetFields
    ) -> Target:
        principal.require_scope(WRITE_SCOPE)
        await self._require(principal, directory, keep=True)
        now = utcnow()
        target = Target(
            uuid.uuid4(), 1, directory.organization_id, directory.coalition_id, fields, False, now, now
        )

        async def work(session: Session) -> Target:
            await self.targets_repo.insert_target(target, principal.subject, session)
            await self._announce(session, target, "created")
            return target

        return await in_transaction(self.client, work)

    async def list_targets(
        self,
        *,
        principal: Principal,
        directory: Directory,
        level: Level | None,
        include_retired: bool,
        after: UUID | None,
        limit: int,
    ) -> list[Target]:
        principal.require_scope(READ_SCOPE)
        await self._require(principal, directory, keep=False)
        return await self.targets_repo.targets_of(
            organization_id=directory.organization_id,
            coalition_id=directory.coalition_id,
            level=level.value if level else None,
            include_retired=include_retired,
            after=after,
            limit=limit,
        )

    async def read_target(self, *, principal: Principal, target_id: UUID) -> Target:
        principal.require_scope(READ_SCOPE)
        return await self._target(principal, target_id, keep=False)

    async def target_versions(self, *, principal: Principal, target_id: UUID) -> list[Target]:
        principal.require_scope(READ_SCOPE)
        await self._target(principal, target_id, keep=False)
        return await self.targets_repo.versions_of(target_id)

    async def update_target(
        self, *, principal: Principal, target_id: UUID, changes: dict[str, Any]
    ) -> Target:
        principal.require_scope(WRITE_SCOPE)
        current = await self._target(principal, target_id, keep=True)
        if current.retired:
            raise Conflict("a retired target is not edited", target_id=str(target_id))
        try:
            fields = TargetFields.model_validate({**current.fields.model_dump(), **changes})
        except ValueError as exc:
            raise InvalidInput(f"the target's fields do not fit together: {exc}") from exc
        if fields == current.fields:
            return current
        return await self._save(principal, replace(current, fields=fields), current.version, "updated")

    async def retire_target(self, *, principal: Principal, target_id: UUID) -> None:
        """A retired target is no longer chosen for new letters; its versions stay (letters name them)."""
        principal.require_scope(WRITE_SCOPE)
        current = await self._target(principal, target_id, keep=True)
        if not current.retired:
            await self._save(principal, replace(current, retired=True), current.version, "retired")

    async def _save(self, principal: Principal, target: Target, expected: int, change: str) -> Target:
        saved = replace(target, version=expected + 1, updated_at=utcnow())

        async def work(session: Session) -> Target:
            stored = await self.targets_repo.save_version(saved, expected, principal.subject, session)
            if stored is None:
                raise Conflict("the target changed meanwhile; read it again", target_id=str(target.id))
            await self._announce(session, stored, change)
            return stored

        return await in_transaction(self.client, work)

    async def import_targets(self, *, principal: Principal, directory: Directory, text: str) -> Imported:
        """All rows or none: every error of every row is reported, and then nothing is imported."""
        principal.require_scope(WRITE_SCOPE)
        await self._require(principal, directory, keep=True)
        rows, errors = parse_csv(text)
        existing: dict[UUID, Target] = {}
        if not errors:
            wanted: dict[int, UUID] = {}
            for row in rows:
                if row.target_id is None:
                    continue
                try:
                    wanted[row.row] = UUID(row.target_id)
                except ValueError:
                    errors.append(RowError(row=row.row, field="target_id", reason="not a target id"))
            found = {t.id: t for t in await self.targets_repo.targets_by_id(list(set(wanted.values())))}
            seen: set[UUID] = set()
            for number, target_id in wanted.items():
                target = found.get(target_id)
                if target is None or Directory.of(target) != directory:
                    errors.append(
                        RowError(row=number, field="target_id", reason="no such target in this directory")
                    )
                elif target_id in seen:
                    errors.append(
                        RowError(row=number, field="target_id", reason="this target is on an earlier row")
                    )
                seen.add(target_id)
            existing = found
        if errors:
            raise ImportRefused(sorted(errors, key=lambda e: (e.row, e.field)))
        now = utcnow()

        async def work(session: Session) -> Imported:
            created: list[Target] = []
            updated: list[Target] = []
            for row in rows:
                if row.target_id is None:
                    target = Target(
                        uuid.uuid4(),
                        1,
                        directory.organization_id,
                        directory.coalition_id,
                        row.fields,
                        False,
                        now,
                        now,
                    )
                    await self.targets_repo.insert_target(target, principal.subject, session)
                    await self._announce(session, target, "created")
                    created.append(target)
                    continue
                current = existing[UUID(row.target_id)]
                if current.fields == row.fields and not current.retired:
                    continue
                next_version = replace(
                    current, fields=row.fields, retired=False, version=current.version + 1, updated_at=now
                )
                stored = await self.targets_repo.save_version(
                    next_version, current.version, principal.subject, session
                )
                if stored is None:
                    raise Conflict("a target changed during the import; nothing was imported", row=row.row)
                await self._announce(session, stored, "updated")
                updated.append(stored)
            return Imported(created, updated)

        return await in_transaction(self.client, work)

    async def _announce(self, session: Session, target: Target, change: str) -> None:
        f = target.fields
        await self.outbox.add(
            session,
            ev.TargetChanged(
                target_id=target.id,
                version=target.version,
                change=change,
                organization_id=target.organization_id,
                coalition_id=target.coalition_id,
                name=f.name,
                title=f.title,
                office=f.office,
                level=f.level.value,
                jurisdiction=f.jurisdiction,
                district=f.district,
                country=f.country,
                retired=target.retired,
            ),
            key=str(target.id),
            subject=f"targets/{target.id}",
            orgid=str(target.organization_id) if target.organization_id else None,
            coalitionid=str(target.coalition_id) if target.coalition_id else None,
        )

    # ---- who represents a place ------------------------------------------------------------------------

    @staticmethod
    def _directories(campaign: Campaign) -> list[dict[str, UUID]]:
        owners = [{"organization_id": campaign.owner_org_id}]
        if campaign.coalition_id is not None:
            owners.append({"coalition_id": campaign.coalition_id})
        return owners

    async def represented_by(self, campaign: Campaign, country: str, postal_code: str) -> list[Target]:
        """The campaign's directories' targets representing this place, of the campaign's levels, from
        the most local to the supranational."""
        levels = campaign.details.get("target_levels") or [level.value for level in Level]
        found = await self.targets_repo.candidates(owners=self._directories(campaign), country=country)
        chosen = [
            t for t in found if t.fields.level.value in levels and t.fields.represents(country, postal_code)
        ]
        return sorted(chosen, key=lambda t: (LEVEL_ORDER[t.fields.level], t.fields.name, str(t.id)))

    async def fixed_targets(self, campaign: Campaign) -> list[Target]:
        """The campaign's chosen targets of its directories, as they are now (retired ones left out)."""
        ids = [UUID(str(i)) for i in campaign.details.get("target_ids") or []]
        if not ids:
            return []
        directories = self._directories(campaign)
        found = {t.id: t for t in await self.targets_repo.targets_by_id(ids)}
        return [
            found[i]
            for i in ids
            if i in found
            and not found[i].retired
            and any(Directory.of(found[i]) == Directory(**d) for d in directories)
        ]

    async def check_target_ids(
        self, *, owner_org_id: UUID, coalition_id: UUID | None, ids: list[UUID]
    ) -> None:
        """A letter campaign's fixed targets must be current targets of its own directories."""
        if not ids:
            return
        allowed = [Directory(organization_id=owner_org_id)]
        if coalition_id is not None:
            allowed.append(Directory(coalition_id=coalition_id))
        found = {t.id: t for t in await self.targets_repo.targets_by_id(ids)}
        for target_id in ids:
            target = found.get(target_id)
            if target is None or target.retired or Directory.of(target) not in allowed:
                raise InvalidInput(
                    "a target is not a current target of the campaign's organization or coalition directory",
                    field="details.target_ids",
                    target_id=str(target_id),
                )
