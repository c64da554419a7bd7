"""Test helpers for the coalition service: organizations from a real identity service, coalitions over HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from identity_api import IdentityApi, Person

from eventually import eventually


@dataclass
class Org:
    id: str
    admin: Person

    @property
    def headers(self) -> dict[str, str]:
        return self.admin.headers


class CoalitionWorld:
    """Arranges organizations in identity (the coalition service learns them over Kafka) and coalitions."""

    def __init__(self, identity: IdentityApi, http: httpx.AsyncClient, app: FastAPI) -> None:
        self.identity = identity
        self.http = http
        self.app = app

    async def known_here(self, org_id: str) -> bool:
        return await self.app.state.coalition.repo.get_organization(uuid.UUID(org_id)) is not None

    async def org(self, name: str = "org") -> Org:
        admin = await self.identity.person(name)
        org = await self.identity.organization(admin, name=f"{name.title()} Association")
        await eventually(lambda: self.known_here(org["id"]), within=60, message=f"{name} in the projection")
        return Org(org["id"], admin)

    async def coalition(self, lead: Org, **fields: Any) -> dict[str, Any]:
        body = {
            "organization_id": lead.id,
            "slug": f"c-{uuid.uuid4().hex[:10]}",
            "name": "Rare Lung Alliance",
            "mission": "Access to care for rare lung diseases",
            "focus_areas": ["rare lung disease"],
            "countries": ["BE", "DE"],
            **fields,
        }
        response = await self.http.post("/v1/coalitions", json=body, headers=lead.headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def post(self, path: str, who: Org, json: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, json=json, headers=who.headers)

    async def invite(
        self, coalition_id: str, lead: Org, invitee: Org, role: str = "member"
    ) -> httpx.Response:
        return await self.post(
            f"/v1/coalitions/{coalition_id}/invitations", lead, {"organization_id": invitee.id, "role": role}
        )

    async def member(self, coalition_id: str, lead: Org, invitee: Org, role: str = "member") -> None:
        invited = await self.invite(coalition_id, lead, invitee, role)
        assert invited.status_code == 201, invited.text
        accepted = await self.post(f"/v1/coalitions/{coalition_id}/memberships/{invitee.id}/accept", invitee)
        assert accepted.status_code == 200, accepted.text

    async def set_sharing(self, coalition_id: str, lead: Org, org: Org, level: str) -> None:
        """Put `level` in force for `org`'s membership the way the two sides agree on it: the lead proposes
        contacts and the organization's own admin accepts; `aggregate_only` is the lead stepping back."""
        path = f"/v1/coalitions/{coalition_id}/memberships/{org.id}/sharing"
        changed = await self.http.put(path, json={"level": level}, headers=lead.headers)
        assert changed.status_code == 200, changed.text
        if changed.json()["sharing_level"] != level:
            accepted = await self.http.post(path + "/accept", headers=org.headers)
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["sharing_level"] == level, accepted.text

    async def state_of(self, coalition_id: str, org_id: str) -> str | None:
        doc = await self.app.state.coalition.repo.get_membership(uuid.UUID(coalition_id), uuid.UUID(org_id))
        return None if doc is None else str(doc["state"])
