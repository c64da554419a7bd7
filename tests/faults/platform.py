"""The one place where the fault scenarios set the platform up and post supporters' actions.

Every campaign is created by `Organizer.petition` and every public action is posted by `post_action`:
a change to how campaigns are created or how a supporter takes action (new required fields, a
challenge to solve first) is made here, once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

PASSWORD = "saffron lighthouse meadow 2031"
SETUP_PATIENCE = 90.0


def until_status(call: Callable[[], httpx.Response], ok: tuple[int, ...], what: str) -> Any:
    """Repeat `call` until it answers one of `ok` (services learn of each other through events)."""
    deadline = time.monotonic() + SETUP_PATIENCE
    while True:
        try:
            response = call()
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code in ok:
            return response.json() if response.content else None
        if response is not None and response.status_code == 422:
            raise AssertionError(f"{what}: {response.text[:300]}")  # waiting will not make it valid
        if time.monotonic() > deadline:
            detail = "no answer" if response is None else f"{response.status_code} {response.text[:300]}"
            raise AssertionError(f"{what}: {detail}")
        time.sleep(0.3)


@dataclass(frozen=True)
class Campaign:
    id: str
    ref: str  # the owner's public link
    org_id: str
    target: int


class Organizer:
    """A user who owns organizations, their petitions and their webhook endpoints."""

    def __init__(self, *, identity: str, campaigns: str, notifications: str, coalition: str = "") -> None:
        self.identity = httpx.Client(base_url=identity, timeout=30)
        self.coalition = httpx.Client(base_url=coalition or identity, timeout=30)
        self.campaigns = httpx.Client(base_url=campaigns, timeout=30)
        self.notifications = httpx.Client(base_url=notifications, timeout=30)
        self.email = f"faults-{uuid.uuid4().hex[:10]}@example.org"
        self._token = ""

    def close(self) -> None:
        for client in (self.identity, self.coalition, self.campaigns, self.notifications):
            client.close()

    def _login(self) -> None:
        form = {"grant_type": "password", "username": self.email, "password": PASSWORD}
        self._token = until_status(lambda: self.identity.post("/oauth/token", data=form), (200,), "login")[
            "access_token"
        ]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def organization(self, name: str) -> str:
        if not self._token:
            body = {"email": self.email, "password": PASSWORD, "display_name": "Fault Finder"}
            until_status(lambda: self.identity.post("/v1/users", json=body), (201,), "register user")
            self._login()
            token = until_status(
                lambda: self.identity.post("/v1/users/me/email-verification", headers=self.headers),
                (202,),
                "request e-mail verification",
            )["token"]
            until_status(
                lambda: self.identity.post("/v1/users/email-verification/confirm", json={"token": token}),
                (200,),
                "confirm e-mail verification",
            )
        org = {
            "slug": f"faults-{uuid.uuid4().hex[:8]}",
            "name": name,
            "kind": "patient_association",
            "country": "NL",
        }
        created = until_status(
            lambda: self.identity.post("/v1/organizations", json=org, headers=self.headers),
            (201,),
            "register organization",
        )
        self._login()  # the new token carries the owner role
        return str(created["id"])

    def coalition_led_by(self, org_id: str) -> str:
        body = {
            "organization_id": org_id,
            "slug": f"faults-{uuid.uuid4().hex[:8]}",
            "name": f"Fault Alliance {uuid.uuid4().hex[:4]}",
            "mission": "Show that nothing acknowledged is lost",
            "focus_areas": ["reliability"],
            "countries": ["NL"],
        }
        created = until_status(
            lambda: self.coalition.post("/v1/coalitions", json=body, headers=self.headers),
            (201,),
            "coalition",
        )
        return str(created["id"])

    def petition(self, org_id: str, title: str, target: int) -> Campaign:
        """A launched petition of the organization, with the owner's public link."""
        deadline = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT00:00:00Z")
        body = {
            "organization_id": org_id,
            "kind": "petition",
            # Signatures count at once: confirming thousands of e-mailed links is not what these
            # scenarios test (double opt-in has its own tests).
            "double_opt_in": False,
            "title": title,
            "details": {
                "text": "Fund screening for every newborn.",
                "target": {"name": "Minister of Health"},
            },
            "goal": {"metric": "actions", "action_kind": "signature", "target": target, "deadline": deadline},
        }
        cid = until_status(
            lambda: self.campaigns.post("/v1/campaigns", json=body, headers=self.headers),
            (201,),
            "create campaign",
        )["id"]
        until_status(
            lambda: self.campaigns.post(f"/v1/campaigns/{cid}/launch", headers=self.headers),
            (200,),
            "launch campaign",
        )
        links = until_status(
            lambda: self.campaigns.get(f"/v1/campaigns/{cid}/links", headers=self.headers), (200,), "links"
        )
        ref = next(link["ref"] for link in links if link["role"] == "owner")
        return Campaign(id=str(cid), ref=str(ref), org_id=org_id, target=target)

    def webhook(self, org_id: str, url: str, campaign_id: str, event_types: list[str]) -> str:
        body = {
            "url": url,
            "event_types": event_types,
            "campaign_ids": [campaign_id],
            "description": "fault scenario receiver",
        }
        created = until_status(
            lambda: self.notifications.post(
                f"/v1/organizations/{org_id}/webhooks", json=body, headers=self.headers
            ),
            (201,),
            "register webhook",
        )
        return str(created["id"])

    def stats(self, campaign_id: str) -> dict[str, Any]:
        stats: dict[str, Any] = until_status(
            lambda: self.campaigns.get(f"/v1/campaigns/{campaign_id}/stats", headers=self.headers),
            (200,),
            "stats",
        )
        return stats


def action_body(email: str, altcha: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"supporter": {"email": email, "first_name": "Robin"}}
    if altcha is not None:
        body["altcha"] = altcha
    return body


async def post_action(
    client: httpx.AsyncClient,
    campaign: Campaign,
    *,
    email: str,
    idempotency_key: str,
    altcha: str | None = None,
) -> httpx.Response:
    """A supporter signs the petition through the organization's public link. `altcha` is a solved
    proof-of-work challenge, for a stack that requires one (the fault scenarios' stack does not: its
    stream of thousands of actions would spend the test machine's cores solving them)."""
    return await client.post(
        f"/v1/public/links/{campaign.ref}/signatures",
        json=action_body(email, altcha),
        headers={"Idempotency-Key": idempotency_key},
    )
