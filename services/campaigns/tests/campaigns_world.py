"""Test helpers for the campaigns service: organizations and coalitions from the real identity and
coalition services (the campaigns service learns them over Kafka), campaigns and supporters over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from coalition_world import CoalitionWorld, Org
from fastapi import FastAPI
from identity_api import ISSUER, IdentityApi

from campaigns.config import Settings as CampaignsSettings
from common.testing.infra import Infra
from eventually import eventually
from kafka_records import Record, read_to_end


def campaigns_test_settings(infra: Infra, **overrides: object) -> CampaignsSettings:
    values: dict[str, object] = {
        "environment": "test",
        "mongodb_url": infra.mongodb_url,
        "mongodb_database": f"campaigns_{uuid.uuid4().hex[:8]}",
        "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
        "auth_issuer": ISSUER,
        "public_url": "http://campaigns.test",
        "outbox_poll_interval_seconds": 0.2,
        "schedule_sweep_seconds": 0.5,
        "pending_sweep_seconds": 0.5,
        "public_rate_limit": 100_000,
        "public_challenge_required": False,  # the proof-of-work has its own tests (test_challenge.py)
        **overrides,
    }
    return CampaignsSettings.model_validate(values)


FUTURE = datetime.now(UTC) + timedelta(days=90)

DETAILS: dict[str, dict[str, Any]] = {
    "petition": {
        "text": "Fund newborn screening for spinal muscular atrophy in every region.",
        "target": {"name": "Minister of Health", "office": "Ministry of Health", "jurisdiction": "Belgium"},
    },
    "letter": {
        "targets": [{"name": "A. Member", "office": "Parliament", "jurisdiction": "Brussels"}],
        "subject": "Reimburse rare disease medicines within 180 days",
        "body_template": "Dear representative, 1 in 17 people lives with a rare disease. Please act.",
        "ask": "Vote for the 180-day reimbursement amendment.",
        "allow_personalisation": True,
    },
    "event": {
        "event_type": "health_fair",
        "starts_at": (FUTURE + timedelta(days=1)).isoformat(),
        "ends_at": (FUTURE + timedelta(days=1, hours=6)).isoformat(),
        "time_zone": "Europe/Brussels",
        "place": "Grand Place, Brussels",
        "capacity": 500,
    },
    "story_collection": {
        "prompt": "Tell us how long your diagnosis took.",
        "consent_text": "I agree that my story may be published on the campaign page under the name I chose.",
    },
    "share": {"message": "Sign for faster diagnosis #RareDisease", "link": "https://example.org/faster"},
}

GOAL_KIND = {
    "petition": "signature",
    "letter": "letter",
    "event": "rsvp",
    "story_collection": "story",
    "share": "share",
}


def goal(kind: str, target: int = 100) -> dict[str, Any]:
    return {
        "metric": "actions",
        "action_kind": GOAL_KIND[kind],
        "target": target,
        "deadline": FUTURE.isoformat(),
    }


def supporter(name: str = "sam", **fields: Any) -> dict[str, Any]:
    return {
        "email": f"{name}-{uuid.uuid4().hex[:8]}@example.net",
        "first_name": name.title(),
        "last_name": "Doe",
        **fields,
    }


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The RFC 9457 problem of a refused request, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = dict(response.json())
    assert body["status"] == status, body
    assert body["detail"], body
    return body


class CampaignsWorld(CoalitionWorld):
    """Arranges organizations, coalitions and campaigns; acts as supporters on public links."""

    def __init__(
        self,
        identity: IdentityApi,
        coalition_http: httpx.AsyncClient,
        coalition_app: FastAPI,
        http: httpx.AsyncClient,
        app: FastAPI,
    ) -> None:
        super().__init__(identity, coalition_http, coalition_app)
        self.campaigns = http
        self.campaigns_app = app

    @property
    def service(self) -> Any:
        return self.campaigns_app.state.campaigns

    async def projected(self, coalition_id: str, org_id: str, state: str = "active") -> None:
        """Wait until the campaigns service has seen this membership in this state."""

        async def seen() -> bool:
            doc = await self.service.repo.get_membership(uuid.UUID(coalition_id), uuid.UUID(org_id))
            return doc is not None and doc["state"] == state

        await eventually(seen, within=60, message=f"membership {state} in the campaigns projection")

    async def shared_coalition(self, lead: Org, *members: Org, sharing: str | None = None) -> dict[str, Any]:
        coalition = await self.coalition(lead)
        for member in members:
            await self.member(coalition["id"], lead, member)
        if sharing is not None:
            for org in (lead, *members):
                await self.set_sharing(coalition["id"], lead, org, sharing)
        for org in (lead, *members):
            await self.projected(coalition["id"], org.id)
        return coalition

    async def set_sharing(self, coalition_id: str, lead: Org, org: Org, level: str) -> None:
        await super().set_sharing(coalition_id, lead, org, level)  # the lead proposes, the member accepts

        async def seen() -> bool:
            doc = await self.service.repo.get_membership(uuid.UUID(coalition_id), uuid.UUID(org.id))
            return doc is not None and doc["sharing_level"] == level

        await eventually(seen, within=60, message=f"sharing level {level} in the campaigns projection")

    async def campaign(
        self, owner: Org, kind: str = "petition", coalition_id: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {
            "organization_id": owner.id,
            "coalition_id": coalition_id,
            "kind": kind,
            "title": f"{kind.title()} for faster diagnosis",
            "summary": "Diagnosis of rare diseases takes five years on average.",
            "details": DETAILS[kind],
            "goal": goal(kind),
            # Double opt-in (on by default for petitions and letters) has its own tests; elsewhere an
            # action counts at once, as these tests expect.
            "double_opt_in": False,
            **fields,
        }
        response = await self.campaigns.post("/v1/campaigns", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def launched(
        self, owner: Org, kind: str = "petition", coalition_id: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        campaign = await self.campaign(owner, kind, coalition_id, **fields)
        response = await self.campaigns.post(f"/v1/campaigns/{campaign['id']}/launch", headers=owner.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def link_of(self, campaign_id: str, org: Org) -> str:
        response = await self.campaigns.get(f"/v1/campaigns/{campaign_id}/links", headers=org.headers)
        assert response.status_code == 200, response.text
        refs = [link["ref"] for link in response.json() if link["organization_id"] == org.id]
        assert refs, response.text
        return str(refs[0])

    async def adopt(self, campaign_id: str, org: Org) -> str:
        response = await self.campaigns.post(
            f"/v1/campaigns/{campaign_id}/adoptions", json={"organization_id": org.id}, headers=org.headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["ref"])

    async def public(self, ref: str) -> dict[str, Any]:
        response = await self.campaigns.get(f"/v1/public/links/{ref}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def versions(self, ref: str) -> dict[str, str]:
        return {c["purpose"]: c["version"] for c in (await self.public(ref))["consent_texts"]}

    async def act(
        self,
        ref: str,
        path: str = "signatures",
        person: dict[str, Any] | None = None,
        consents: dict[str, str] | None = None,
        key: str | None = None,
        **fields: Any,
    ) -> httpx.Response:
        body = {"supporter": person or supporter(), "consents": consents or {}, **fields}
        headers = {"Idempotency-Key": key} if key else {}
        return await self.campaigns.post(f"/v1/public/links/{ref}/{path}", json=body, headers=headers)

    async def counted(self, campaign_id: str) -> None:
        """Wait until the aggregator has counted every action recorded so far on the campaign.

        Totals are eventually consistent (the aggregator counts recorded actions in batches); the
        test waits on the real condition, the `counted` marks written with the totals.
        """
        actions = self.campaigns_app.state.runtime.db["actions"]
        query = {"campaign_id": uuid.UUID(campaign_id), "counted": False}

        async def done() -> bool:
            return await actions.count_documents(query) == 0

        await eventually(done, within=30, message="the aggregator to count the campaign's actions")

    async def stats(self, campaign_id: str, org: Org) -> dict[str, Any]:
        await self.counted(campaign_id)
        response = await self.campaigns.get(f"/v1/campaigns/{campaign_id}/stats", headers=org.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # ---- more short-hands ------------------------------------------------------------------------

    async def consents(self, ref: str, *purposes: str) -> dict[str, str]:
        """The current versions of the consent texts for `purposes` (as a supporter agrees to them)."""
        versions = await self.versions(ref)
        return {p: versions[p] for p in purposes}

    async def move(self, campaign_id: str, org: Org, transition: str) -> httpx.Response:
        return await self.campaigns.post(f"/v1/campaigns/{campaign_id}/{transition}", headers=org.headers)

    async def moved(self, campaign_id: str, org: Org, transition: str) -> dict[str, Any]:
        response = await self.move(campaign_id, org, transition)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def get(self, path: str, org: Org | Any, **params: Any) -> httpx.Response:
        return await self.campaigns.get(path, headers=org.headers, params=params)

    async def token_post(self, path: str, token: str, **fields: Any) -> httpx.Response:
        return await self.campaigns.post(f"/v1/public/supporter{path}", json={"token": token, **fields})

    async def relayed(self, campaign_id: str) -> None:
        """Wait until the outbox has published every event about the campaign (the aggregator's too)."""
        await self.counted(campaign_id)
        outbox = self.campaigns_app.state.runtime.db["outbox"]

        async def done() -> bool:
            return await outbox.count_documents({"key": campaign_id, "status": "pending"}) == 0

        await eventually(done, within=30, message="the outbox to relay the campaign's events")

    async def published(self, campaign_id: str, *topic_names: str) -> list[Record]:
        """The records of `topic_names` about the campaign (by key or by the id in the data)."""
        await self.relayed(campaign_id)
        bootstrap = self.campaigns_app.state.settings.kafka_bootstrap_servers
        records = await read_to_end(bootstrap, *topic_names)
        return [r for r in records if r.key == campaign_id or r.data.get("campaign_id") == campaign_id]

    async def suspend(self, coalition_id: str, lead: Org, org: Org) -> None:
        response = await self.post(f"/v1/coalitions/{coalition_id}/memberships/{org.id}/suspend", lead)
        assert response.status_code == 200, response.text
        await self.projected(coalition_id, org.id, "suspended")

    async def leave(self, coalition_id: str, org: Org) -> None:
        response = await self.post(f"/v1/coalitions/{coalition_id}/memberships/{org.id}/leave", org)
        assert response.status_code == 200, response.text
        await self.projected(coalition_id, org.id, "left")
