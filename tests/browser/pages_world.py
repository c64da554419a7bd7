"""The world of the browser tests: an organization with a profile, one live campaign of every kind, two
host sites on other origins (one allowed to embed the pages), the mails the stack's SMTP sink kept."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from common.embedded import free_port
from launcher import ROOT, Launched

SCREENS = ROOT / ".run" / "screens"  # the run's screenshots; the current ones are committed in docs/screens
AXE = Path(__file__).parent / "vendor" / "axe-4.11.1.min.js"
LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><circle cx="24" cy="24" r="22" '
    b'fill="#0b4f8a"/><path d="M14 25l7 7 13-15" stroke="#fff" stroke-width="5" fill="none"/></svg>'
)


class HostSite:
    """An organization's own web site on another origin (loopback), embedding the widget or the iframe."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread
        self.campaigns_url = ""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @classmethod
    def start(cls) -> HostSite:
        site: HostSite

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                ref = (parse_qs(parts.query).get("ref") or [""])[0]
                if parts.path == "/logo.svg":
                    self._send(LOGO_SVG, "image/svg+xml")
                elif parts.path == "/widget":
                    self._send(
                        site.page(
                            f'<script src="{site.campaigns_url}/widget.js" data-ref="{ref}" async></script>'
                        )
                    )
                elif parts.path == "/iframe":
                    frame = f'<iframe src="{site.campaigns_url}/p/{ref}/embed" title="Campaign" width="100%" height="900"></iframe>'
                    self._send(site.page(frame))
                elif parts.path == "/privacy":
                    self._send(site.page("<p>Our privacy notice.</p>"))
                else:
                    self.send_error(404)

            def _send(self, body: bytes, kind: str = "text/html; charset=utf-8") -> None:
                self.send_response(200)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        site = cls(server, thread)
        thread.start()
        return site

    def page(self, content: str) -> bytes:
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Our site</title></head>'
            f"<body><main><h1>Our association</h1>{content}</main></body></html>"
        ).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class World:
    stack: Launched
    allowed: HostSite
    other: HostSite
    org_id: str
    refs: dict[str, str] = field(default_factory=dict)  # kind -> the organization's link ref

    @property
    def campaigns(self) -> str:
        return self.stack.campaigns_url

    def page(self, kind: str, query: str = "") -> str:
        return f"{self.campaigns}/p/{self.refs[kind]}{query}"

    def mail_to(self, address: str) -> list[str]:
        """The readable mails the stack's SMTP sink received for `address`."""
        found = []
        for path in sorted((self.stack.state_dir / "mail").glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address not in str(message["To"]):
                continue
            parts = [str(message["Subject"])]
            for part in message.walk():
                if part.get_content_maintype() == "text":
                    parts.append(part.get_content())
            found.append("\n".join(parts))
        return found

    def confirmation_path(self, address: str) -> str | None:
        for mail in self.mail_to(address):
            match = re.search(r"/confirm/([A-Za-z0-9_.~-]+)", mail)
            if match:
                return f"/confirm/{match.group(1)}"
        return None


def _retry(call: Any, what: str, within: float = 60.0) -> httpx.Response:
    """The campaigns service learns of a new organization from identity's events: retry until it has."""
    deadline = time.monotonic() + within
    while True:
        response: httpx.Response = call()
        if response.status_code < 400 or time.monotonic() > deadline:
            assert response.status_code < 400, f"{what}: {response.status_code} {response.text}"
            return response
        time.sleep(0.3)


def build_world(stack: Launched, *, allowed: HostSite, other: HostSite) -> World:
    allowed.campaigns_url = other.campaigns_url = stack.campaigns_url
    identity = httpx.Client(base_url=stack.identity_url, timeout=30)
    campaigns = httpx.Client(base_url=stack.campaigns_url, timeout=30)
    email_address, password = "pages-owner@example.org", "quiet harbour lantern 2048"
    identity.post(
        "/v1/users", json={"email": email_address, "password": password, "display_name": "Pages Owner"}
    ).raise_for_status()

    def login() -> dict[str, str]:
        token = identity.post(
            "/oauth/token", data={"grant_type": "password", "username": email_address, "password": password}
        )
        token.raise_for_status()
        return {"authorization": f"Bearer {token.json()['access_token']}"}

    verification = identity.post("/v1/users/me/email-verification", headers=login())
    verification.raise_for_status()
    identity.post(
        "/v1/users/email-verification/confirm", json={"token": verification.json()["token"]}
    ).raise_for_status()
    org = identity.post(
        "/v1/organizations",
        headers=login(),
        json={
            "slug": "rare-voices",
            "name": "Rare Voices Europe",
            "kind": "patient_association",
            "country": "BE",
            "logo_url": f"{allowed.origin}/logo.svg",
            "privacy_notice_url": f"{allowed.origin}/privacy",
            "embed_origins": [allowed.origin],
        },
    )
    org.raise_for_status()
    org_id = org.json()["id"]
    headers = login()
    world = World(stack, allowed, other, org_id)
    deadline = (datetime.now(UTC) + timedelta(days=60)).strftime("%Y-%m-%dT00:00:00Z")
    starts = (datetime.now(UTC) + timedelta(days=20)).replace(hour=9, minute=0, second=0, microsecond=0)
    for kind, body in _campaigns(starts, deadline).items():
        created = _retry(
            lambda body=body: campaigns.post(
                "/v1/campaigns", headers=headers, json={"organization_id": org_id, **body}
            ),
            f"creating the {kind}",
        ).json()
        campaigns.post(f"/v1/campaigns/{created['id']}/launch", headers=headers).raise_for_status()
        links = campaigns.get(f"/v1/campaigns/{created['id']}/links", headers=headers)
        links.raise_for_status()
        world.refs[kind] = next(link["ref"] for link in links.json() if link["role"] == "owner")
    identity.close()
    campaigns.close()
    return world


def _campaigns(starts: datetime, deadline: str) -> dict[str, dict[str, Any]]:
    def goal(action: str, target: int) -> dict[str, Any]:
        return {"metric": "actions", "action_kind": action, "target": target, "deadline": deadline}

    return {
        "petition": {
            "kind": "petition",
            "title": "Newborn screening for every rare disease",
            "summary": "Screening at birth saves lives. Ask the ministers to screen for every treatable rare disease.",
            "details": {
                "text": "We ask the health ministers to add every treatable rare disease to newborn screening.",
                "target": {"name": "EU health ministers", "office": "EPSCO Council"},
            },
            "goal": goal("signature", 1500),
            "translations": {
                "fr": {
                    "title": "Le dépistage néonatal pour chaque maladie rare",
                    "summary": "Le dépistage à la naissance sauve des vies.",
                    "text": "Nous demandons aux ministres d'ajouter chaque maladie rare traitable au dépistage néonatal.",
                }
            },
        },
        "letter": {
            "kind": "letter",
            "title": "Write to your MEP about orphan drugs",
            "summary": "Tell your representative why access to orphan medicines matters to you.",
            "details": {
                "targets": [
                    {
                        "name": "Anna Example",
                        "office": "Member of the European Parliament",
                        "jurisdiction": "Belgium",
                    }
                ],
                "subject": "Access to orphan medicines",
                "body_template": "Dear Member of Parliament,\n\nPlease support faster access to orphan medicines.",
                "ask": "Vote for the orphan medicines regulation.",
                "allow_personalisation": True,
            },
            "goal": goal("letter", 500),
            "double_opt_in": False,
        },
        "event": {
            "kind": "event",
            "title": "Rare Disease Day town hall",
            "summary": "Meet researchers, clinicians and families.",
            "details": {
                "event_type": "town_hall",
                "starts_at": starts.isoformat().replace("+00:00", "Z"),
                "ends_at": (starts + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
                "time_zone": "Europe/Brussels",
                "place": "Residence Palace, Rue de la Loi 155, Brussels",
                "capacity": 120,
            },
            "goal": goal("rsvp", 120),
        },
        "story_collection": {
            "kind": "story_collection",
            "title": "Your diagnosis journey",
            "summary": "How long did it take to put a name on your condition?",
            "details": {
                "prompt": "Tell us how long it took to be diagnosed, and what would have helped.",
                "consent_text": "I agree that my story may be published with the name form I chose.",
            },
            "goal": goal("story", 100),
        },
        "share": {  # a campaign written in Spanish: its default language
            "kind": "share",
            "title": "Comparte la petición del cribado neonatal",
            "summary": "Cada vez que se comparte llegan nuevas firmas.",
            "details": {
                "message": "El cribado neonatal salva vidas: firma por cada enfermedad rara.",
                "link": "https://example.org/screening",
            },
            "goal": goal("share", 300),
            "default_language": "es",
            "translations": {"en": {"title": "Share the screening petition"}},
        },
    }
