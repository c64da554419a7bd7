"""People's notices: who gets which (per their preferences), the in-app feed, and queued e-mails."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
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
from notifications.repository import DEFERRED_NOTICES, ORG_MEMBERS, ORGANIZATIONS, USERS, Repository
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
    async def notify_orgs(
        self,
        org_ids: Iterable[UUID],
        notice: Notice,
        *,
        event_id: str,
        session: Session,
        skip: Iterable[UUID] = (),
    ) -> None:
        """Tell the organizations' people whose role the notice's category concerns (but those in `skip`).

        An organization with no member in the projection is not known here yet (every organization has
        at least its owner; identity's events may lag the event that causes the notice): its notice is
        deferred rather than lost, and `member_learned` delivers it."""
        wanted = set(org_ids)
        members = await self.repo.find(ORG_MEMBERS, {"org_id": {"$in": list(wanted)}}, session)
        roles = ROLES_FOR[notice.category]
        skipped = set(skip)
        users = {m["user_id"] for m in members if m["role"] in roles} - skipped
        for org_id in wanted - {m["org_id"] for m in members}:
            # Who is told now (or skipped) is recorded too: someone who gets this notice through another
            # of its organizations does not get it a second time through this one.
            told = users | skipped
            await self._defer("org_id", org_id, notice, event_id=event_id, told=told, session=session)
        await self.notify_users(users, notice, event_id=event_id, session=session)

    async def notify_users(
        self, user_ids: Iterable[UUID], notice: Notice, *, event_id: str, session: Session
    ) -> None:
        """Tell these users; one the projection does not know yet gets it when `user_learned`."""
        wanted = set(user_ids)
        query = {"_id": {"$in": list(wanted)}, "email": {"$exists": True}}  # not a `touch`ed placeholder
        users = await self.repo.find(USERS, query, session)
        for user_id in wanted - {u["_id"] for u in users}:
            await self._defer("user_id", user_id, notice, event_id=event_id, told=set(), session=session)
        for user in users:
            await self._deliver(user["_id"], user.get("email"), notice, event_id=event_id, session=session)

    # ---- notices for organizations and users not known yet --------------------------------------------
    async def _defer(
        self,
        field: Literal["org_id", "user_id"],
        key: UUID,
        notice: Notice,
        *,
        event_id: str,
        told: set[UUID],
        session: Session,
    ) -> None:
        """Keep a notice for an organization (or user) the projections do not know yet.

        It also touches that organization's (user's) projection document, which the transaction that
        learns of a member (the user) writes too: of two such transactions running at once, MongoDB
        commits one and retries the other, which then sees the first's work; neither misses the other.
        The record expires after DEFERRED_NOTICE_TTL if its organization (user) is never learned."""
        now = utcnow()
        await self.repo.touch(ORGANIZATIONS if field == "org_id" else USERS, key, now, session)
        doc = {
            "_id": new_id(),
            field: key,
            "kind": notice.kind,
            "category": notice.category.value,
            "context": notice.context,
            "event_id": event_id,
            "created_at": now,
            "delivered_to": sorted(told),
        }
        await self.repo.defer_notice(doc, session)

    async def member_learned(self, org_id: UUID, user_id: UUID, role: str, session: Session) -> None:
        """The projection learned that this person has this role in the organization: deliver them the
        organization's deferred notices that concern their role, in the caller's transaction.

        A deferred notice is kept until it expires, not dropped after its first delivery: it was meant
        for all of the organization's owners and admins, and those of a just-created organization may
        all arrive after it (identity orders an organization's events, but the notice's own event came
        first); an admin who joins within the week is told too (docs/decisions/0016). `delivered_to`
        keeps it to one delivery per person, whatever replays or role changes follow."""
        await self.repo.touch(ORGANIZATIONS, org_id, utcnow(), session)  # see `_defer`
        query = {"org_id": org_id, "delivered_to": {"$ne": user_id}}
        for doc in await self.repo.find(DEFERRED_NOTICES, query, session):
            notice = Notice(doc["kind"], doc["context"])
            if role in ROLES_FOR[notice.category]:
                await self.repo.mark_deferred_delivered(doc["_id"], user_id, session)
                await self.notify_users([user_id], notice, event_id=doc["event_id"], session=session)

    async def user_learned(self, user_id: UUID, email: str, session: Session) -> None:
        """The projection learned of this user: deliver (once: the records go) what was deferred for them."""
        for doc in await self.repo.take_deferred_for_user(user_id, session):
            notice = Notice(doc["kind"], doc["context"])
            await self._deliver(user_id, email, notice, event_id=doc["event_id"], session=session)

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
