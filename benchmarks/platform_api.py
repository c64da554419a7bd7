"""Setting the platform up over its public HTTP API, as the README walkthrough does."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

PASSWORD = "violet kettle orbit 2031"


def retry(call: Callable[[], httpx.Response], ok: tuple[int, ...], what: str, timeout: float = 60) -> Any:
    """Repeat `call` until it answers one of `ok` (the services learn of each other through events)."""
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if response.status_code in ok:
            return response.json() if response.content else None
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")
        time.sleep(0.5)


class Platform:
    def __init__(self, identity: str, campaigns: str, notifications: str, coalition: str = "") -> None:
        self.identity = httpx.Client(base_url=identity, timeout=60)
        self.coalition = httpx.Client(base_url=coalition or identity, timeout=60)
        self.campaigns = httpx.Client(base_url=campaigns, timeout=60)
        self.notifications = httpx.Client(base_url=notifications, timeout=60)
        self.email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
        self.org_id = ""
        self._token = ""
        self._token_at = 0.0

    def close(self) -> None:
        for client in (self.identity, self.coalition, self.campaigns, self.notifications):
            client.close()

    def _login(self) -> str:
        form = {"grant_type": "password", "username": self.email, "password": PASSWORD}
        token: str = retry(lambda: self.identity.post("/oauth/token", data=form), (200,), "login")[
            "access_token"
        ]
        self._token, self._token_at = token, time.monotonic()
        return token

    @property
    def headers(self) -> dict[str, str]:
        if not self._token or time.monotonic() - self._token_at > 120:
            self._login()
        return {"Authorization": f"Bearer {self._token}"}

    def organization(self) -> str:
        """An organization the bench user owns (the first call registers the user); the token is taken
        again to carry the owner role. The first one is the default of the other calls."""
        if not self._token:
            body = {"email": self.email, "password": PASSWORD, "display_name": "Bench"}
            retry(lambda: self.identity.post("/v1/users", json=body), (201,), "register user")
            self._login()
            # Only a verified address may own an organization (development shows the token).
            token = retry(
                lambda: self.identity.post("/v1/users/me/email-verification", headers=self.headers),
                (202,),
                "request e-mail verification",
            )["token"]
            retry(
                lambda: self.identity.post("/v1/users/email-verification/confirm", json={"token": token}),
                (200,),
                "confirm e-mail verification",
            )
        org = {
            "slug": f"bench-{uuid.uuid4().hex[:8]}",
            "name": "Benchmark Patients Association",
            "kind": "patient_association",
            "country": "BE",
        }
        created = retry(
            lambda: self.identity.post("/v1/organizations", json=org, headers=self.headers),
            (201,),
            "register organization",
        )
        self.org_id = self.org_id or created["id"]
        self._login()
        return str(created["id"])

    def coalition_of(self, lead: str, member: str) -> str:
        """A coalition led by `lead` that `member` joined (both owned by the bench user)."""
        body = {
            "organization_id": lead,
            "slug": f"bench-{uuid.uuid4().hex[:8]}",
            "name": "Benchmark Alliance",
            "mission": "Measure what supporters and partners get",
            "focus_areas": ["benchmarks"],
            "countries": ["BE"],
        }
        cid = retry(
            lambda: self.coalition.post("/v1/coalitions", json=body, headers=self.headers),
            (201,),
            "coalition",
        )["id"]
        invite = {"organization_id": member, "role": "member"}
        retry(
            lambda: self.coalition.post(
                f"/v1/coalitions/{cid}/invitations", json=invite, headers=self.headers
            ),
            (200, 201),
            "invite to coalition",
        )
        retry(
            lambda: self.coalition.post(
                f"/v1/coalitions/{cid}/memberships/{member}/accept", headers=self.headers
            ),
            (200, 201),
            "accept invitation",
        )
        return str(cid)

    def petition(
        self, title: str, target: int, org_id: str = "", coalition_id: str | None = None
    ) -> tuple[str, str]:
        """A launched petition of the organization: (campaign id, the owner's public link ref)."""
        deadline = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT00:00:00Z")
        body = {
            "organization_id": org_id or self.org_id,
            "coalition_id": coalition_id,
            "kind": "petition",
            "title": title,
            "details": {
                "text": "Fund screening for every newborn.",
                "target": {"name": "Minister of Health"},
            },
            "goal": {"metric": "actions", "action_kind": "signature", "target": target, "deadline": deadline},
            "double_opt_in": False,  # the benchmark measures counted actions, not e-mailed confirmations
        }
        campaign = retry(
            lambda: self.campaigns.post("/v1/campaigns", json=body, headers=self.headers),
            (201,),
            "create campaign",
        )
        cid = campaign["id"]
        retry(
            lambda: self.campaigns.post(f"/v1/campaigns/{cid}/launch", headers=self.headers),
            (200,),
            "launch campaign",
        )
        links = retry(
            lambda: self.campaigns.get(f"/v1/campaigns/{cid}/links", headers=self.headers), (200,), "links"
        )
        ref = next(link["ref"] for link in links if link["role"] == "owner")
        return cid, ref

    def webhook(
        self, url: str, campaign_ids: list[str], rate: float = 1000, org_id: str = ""
    ) -> dict[str, Any]:
        """An endpoint of the organization for `campaigns.action.recorded` of these campaigns."""
        body = {
            "url": url,
            "event_types": ["campaigns.action.recorded"],
            "campaign_ids": campaign_ids,
            "description": "bench receiver",
            "rate_per_second": rate,
        }
        created: dict[str, Any] = retry(
            lambda: self.notifications.post(
                f"/v1/organizations/{org_id or self.org_id}/webhooks", json=body, headers=self.headers
            ),
            (201,),
            "register webhook",
        )
        return created

    def stats(self, campaign_id: str) -> dict[str, Any]:
        response = self.campaigns.get(f"/v1/campaigns/{campaign_id}/stats", headers=self.headers)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def sign(self, ref: str, email: str, base: httpx.Client | None = None) -> httpx.Response:
        client = base or self.campaigns
        body = {"supporter": {"email": email, "first_name": "Bench"}}
        return client.post(
            f"/v1/public/links/{ref}/signatures", json=body, headers={"Idempotency-Key": email}
        )
