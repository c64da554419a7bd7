"""The double opt-in mail: `campaigns.action.pending` becomes an e-mail to the supporter, over SMTP, in the
language of their action, with the confirmation link and the link to their own pages. The tokens are
derived here from the ids in the event (common.links); they are in the sent mail and nowhere stored."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

from notifications_world import NotificationsWorld

from common.contracts import campaigns as camp
from common.events import utcnow
from common.links import ACTION_CONFIRMATION, DEVELOPMENT_LINK_SECRET, SUPPORTER_PAGES, derive_link_token
from eventually import eventually

CONFIRM = re.compile(r"https://pages\.example\.org/confirm/(ac_[A-Za-z0-9_-]{43})")
PAGES = re.compile(r"https://pages\.example\.org/me/(sp_[A-Za-z0-9_-]{43})")
GREETING = {"en": "Hello", "fr": "Bonjour", "es": "Hola", "pt": "Olá", "de": "Hallo"}


def pending(language: str, email: str) -> camp.ActionPending:
    return camp.ActionPending(
        campaign_id=uuid.uuid4(),
        owner_organization_id=uuid.uuid4(),
        action_id=uuid.uuid4(),
        supporter_ref=uuid.uuid4(),
        kind="signature",
        organization_id=uuid.uuid4(),
        email=email,
        first_name="Inès",
        language=language,
        campaign_title="Faster diagnosis",
        organization_name="Rare Alliance",
        pages_url="https://pages.example.org/",
        expires_at=utcnow() + timedelta(days=3),
    )


async def test_the_confirmation_mail_reaches_the_supporter_in_their_language_with_both_links(
    world: NotificationsWorld,
) -> None:
    events = {
        lang: pending(lang, f"supporter-{lang}-{uuid.uuid4().hex[:8]}@example.net") for lang in GREETING
    }
    for event in events.values():
        await world.publish(event, key=str(event.campaign_id))

    for lang, event in events.items():
        await eventually(
            lambda e=event: len(world.sink.to(e.email)) == 1,
            within=60,
            message=f"the {lang} confirmation mail",
        )
        mail = world.sink.to(event.email)[0]
        assert mail.message["X-Notice-Category"] == "supporter"
        text, html = mail.part("plain"), mail.part("html")
        assert text.startswith(GREETING[lang]), text
        assert f'lang="{lang}"' in html
        confirm = derive_link_token(DEVELOPMENT_LINK_SECRET, ACTION_CONFIRMATION, event.action_id)
        pages = derive_link_token(DEVELOPMENT_LINK_SECRET, SUPPORTER_PAGES, event.supporter_ref)
        assert CONFIRM.findall(text) == [confirm]
        assert PAGES.findall(text) == [pages]
        assert confirm in html
        assert pages in html

        stored = json.dumps(await world.db["emails"].find_one({"to": event.email}), default=str)
        assert confirm not in stored
        assert pages not in stored
    french = world.sink.to(events["fr"].email)[0]
    assert "Merci de confirmer" in french.subject


async def test_a_pending_action_is_never_delivered_to_webhooks(world: NotificationsWorld) -> None:
    org = await world.org("partner")
    endpoint = await world.endpoint(org, "/pending", event_types=["campaigns.action.*"])
    org_id = uuid.UUID(org.id)
    event = pending("en", f"hidden-{uuid.uuid4().hex[:8]}@example.net")
    event = event.model_copy(update={"owner_organization_id": org_id, "organization_id": org_id})
    held = await world.publish(event, key=str(event.campaign_id))
    # The same campaign's next event, on the same partition: once it is delivered, the held one was seen.
    recorded = camp.ActionRecorded(
        campaign_id=event.campaign_id,
        owner_organization_id=org_id,
        action_id=uuid.uuid4(),
        kind="signature",
        organization_id=org_id,
        supporter_id=uuid.uuid4(),
    )
    control = await world.publish(recorded, key=str(event.campaign_id))

    async def delivered() -> bool:
        return await world.message(endpoint["id"], control.id) is not None

    await eventually(delivered, within=60, message="the recorded action's webhook message")
    await world.processed(held)
    assert await world.message(endpoint["id"], held.id) is None
