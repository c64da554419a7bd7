"""People's notices: who gets which (per their preferences), the in-app feed, and queued e-mails."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import uuid_utils

from common.auth import Principal
from common.errors import Forbidden, NotFound
from common.events import utcnow
from common.mongo import Document, Session
from notifications.domain.notices import (
    ACCOUNT_CATEGORY,
    LINK_TOKEN_PLACEHOLDER,
    ROLES_FOR,
    SUPPORTER_CATEGORY,
    Category,
    Channel,
    Notice,
    wants,
)
from notifications.repository import ORG_MEMBERS, USERS, Repository
from notifications.templates import Rendered, Templates


def new_id() -> UUID:
    """A UUIDv7 (time-ordered), as the standard-library type MongoDB stores."""
    return uuid.UUID(str(uuid_utils.uuid7()))


def _user(principal: Principal) -> UUID:
    if principal.user_id is None:
        raise Forbidden("notices and preferences belong to people; API clients have none")
    return principal.user_id


class NoticeService:
    def __init__(self, *, repo: Repository, templates: Templates) -> None:
        self.repo = repo
        self.templates = templates

    # ---- who is told ---------------------------------------------------------------------------------
    async def org_recipients(
        self, org_ids: Iterable[UUID], category: Category, session: Session
    ) -> set[UUID]:
        roles = sorted(ROLES_FOR[category])
        docs = await self.repo.find(
            ORG_MEMBERS, {"org_id": {"$in": list(set(org_ids))}, "role": {"$in": roles}}, session
        )
        return {d["user_id"] for d in docs}

    async def notify_orgs(
        self, org_ids: Iterable[UUID], notice: Notice, *, event_id: str, session: Session
    ) -> None:
        users = await self.org_recipients(org_ids, notice.category, session)
        await self.notify_users(users, notice, event_id=event_id, session=session)

    async def notify_users(
        self, user_ids: Iterable[UUID], notice: Notice, *, event_id: str, session: Session
    ) -> None:
        users = await self.repo.find(USERS, {"_id": {"$in": list(user_ids)}}, session)
        for user in users:
            await self._deliver(user["_id"], user.get("email"), notice, event_id=event_id, session=session)

    async def notify_address(self, email: str, notice: Notice, *, event_id: str, session: Session) -> None:
        """A notice to an e-mail address that may not belong to a user yet (an invitation)."""
        user = await self.repo.find_one(USERS, {"email": email.strip().lower()}, session)
        await self._deliver(user["_id"] if user else None, email, notice, event_id=event_id, session=session)

    async def _deliver(
        self, user_id: UUID | None, email: str | None, notice: Notice, *, event_id: str, session: Session
    ) -> None:
        preferences = await self.repo.preferences(user_id, session) if user_id else {}
        rendered = self.templates.render(notice.kind, notice.context)
        now = utcnow()
        if user_id is not None and wants(preferences, notice.category, Channel.IN_APP):
            await self.repo.insert_notice(
                {
                    "_id": new_id(),
                    "user_id": user_id,
                    "category": notice.category.value,
                    "kind": notice.kind,
                    "title": rendered.subject,
                    "body": rendered.text,
                    "event_id": event_id,
                    "created_at": now,
                    "read_at": None,
                },
                session,
            )
        if email and wants(preferences, notice.category, Channel.EMAIL):
            doc = _email_doc(email, user_id, notice.category.value, rendered, event_id=event_id, now=now)
            await self.repo.insert_email(doc, session)

    async def mail_link(
        self,
        email: str,
        kind: str,
        context: dict[str, Any],
        *,
        purpose: str,
        item_id: UUID,
        user_id: UUID | None,
        event_id: str,
        session: Session,
    ) -> None:
        """Queue mail about a person's own account that carries a link (an e-mail verification).

        Sent whatever the preferences, not in the feed. The template gets a placeholder as `link_token`;
        the e-mail is stored with the link's purpose and id, and the mailer derives the token when it
        sends (common.links), so the token is never stored.
        """
        rendered = self.templates.render(kind, {**context, "link_token": LINK_TOKEN_PLACEHOLDER})
        doc = _email_doc(email, user_id, ACCOUNT_CATEGORY, rendered, event_id=event_id, now=utcnow())
        doc["link"] = {"purpose": purpose, "id": item_id}
        await self.repo.insert_email(doc, session)

    async def mail_supporter(
        self,
        email: str,
        kind: str,
        context: dict[str, Any],
        *,
        links: list[Document],
        event_id: str,
        session: Session,
    ) -> None:
        """Queue mail to a supporter (no account, no preferences) carrying links with derived tokens.

        `links` are `{"placeholder", "purpose", "id"}`: each placeholder in the rendered text stands for
        the token the mailer derives from the purpose and id when it sends (never stored)."""
        rendered = self.templates.render(kind, context)
        doc = _email_doc(email, None, SUPPORTER_CATEGORY, rendered, event_id=event_id, now=utcnow())
        doc["links"] = links
        await self.repo.insert_email(doc, session)

    async def mail_person(
        self,
        email: str,
        kind: str,
        context: dict[str, Any],
        *,
        category: str,
        event_id: str,
        session: Session,
        attachments: list[dict[str, Any]] | None = None,
        link: tuple[str, UUID] | None = None,
    ) -> None:
        """Queue mail to a person who is not a user (a meeting's attendee): no preferences, no feed.

        `attachments` are `{filename, content_type, content}` (bytes), sent with the mail. With `link`
        (purpose, id), the template's LINK_TOKEN_PLACEHOLDER becomes the link's token when the mailer
        sends it (derived then, never stored), as for e-mail verification."""
        rendered = self.templates.render(kind, context)
        doc = _email_doc(email, None, category, rendered, event_id=event_id, now=utcnow())
        if attachments:
            doc["attachments"] = attachments
        if link is not None:
            doc["link"] = {"purpose": link[0], "id": link[1]}
        await self.repo.insert_email(doc, session)

    # ---- the feed and preferences ------------------------------------------------------------------
    async def feed(
        self, *, principal: Principal, unread_only: bool, after: UUID | None, limit: int
    ) -> list[Document]:
        return await self.repo.notices_of(_user(principal), unread_only=unread_only, after=after, limit=limit)

    async def unread_count(self, *, principal: Principal) -> int:
        return await self.repo.unread_count(_user(principal))

    async def mark_read(self, *, principal: Principal, notice_id: UUID) -> Document:
        user_id = _user(principal)
        await self.repo.mark_read(user_id, notice_id, utcnow())
        notice = await self.repo.get_notice(user_id, notice_id)
        if notice is None:
            raise NotFound("no such notice")
        return notice

    async def mark_all_read(self, *, principal: Principal) -> int:
        return await self.repo.mark_read(_user(principal), None, utcnow())

    async def preferences(self, *, principal: Principal) -> dict[str, dict[str, bool]]:
        doc = await self.repo.preferences(_user(principal))
        return _complete(doc)

    async def set_preferences(
        self, *, principal: Principal, categories: dict[Category, dict[Channel, bool]]
    ) -> dict[str, dict[str, bool]]:
        user_id = _user(principal)
        current = _complete(await self.repo.preferences(user_id))
        for category, channels in categories.items():
            for channel, enabled in channels.items():
                current[category.value][channel.value] = enabled
        return _complete(await self.repo.set_preferences(user_id, current, utcnow()))


def _email_doc(
    to: str, user_id: UUID | None, category: str, rendered: Rendered, *, event_id: str, now: datetime
) -> Document:
    """A queued e-mail, due at once."""
    return {
        "_id": new_id(),
        "to": to,
        "user_id": user_id,
        "category": category,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "event_id": event_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "created_at": now,
    }


def _complete(doc: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """Every category with both channels, defaults filled in."""
    return {c.value: {ch.value: wants(doc, c, ch) for ch in Channel} for c in Category}
