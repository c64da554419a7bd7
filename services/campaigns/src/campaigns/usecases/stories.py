"""Stories: moderation by the campaign's managers and publication under the name the supporter chose."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from campaigns.domain.campaigns import (
    PUBLIC_STATUSES,
)
from campaigns.domain.supporters import (
    ConsentPurpose,
    NameForm,
    display_name,
)
from campaigns.usecases.lifecycle import Lifecycle
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Conflict, NotFound
from common.events import utcnow
from common.mongo import Document, Session, in_transaction


class Stories(Lifecycle):
    """Story moderation and the published stories of a campaign."""

    # ---- stories ---------------------------------------------------------------------------------

    async def stories(
        self, *, principal: Principal, campaign_id: UUID, statuses: list[str], after: UUID | None, limit: int
    ) -> list[Document]:
        await self._managed(principal, campaign_id)
        return await self.repo.stories_of(campaign_id, statuses, after=after, limit=limit)

    async def moderate(
        self, *, principal: Principal, campaign_id: UUID, story_id: UUID, decision: str, reason: str | None
    ) -> Document:
        standing = await self._managed(principal, campaign_id)
        campaign = standing.campaign
        expected, target = {
            "approve": (["submitted"], "approved"),
            "reject": (["submitted", "approved"], "rejected"),
            "publish": (["approved"], "published"),
            "unpublish": (["published"], "approved"),
        }[decision]
        now = utcnow()

        async def work(session: Session) -> Document:
            story = await self.repo.get_story(story_id, session)
            if story is None or story["campaign_id"] != campaign_id:
                raise NotFound("no such story")
            if story["status"] not in expected:
                raise Conflict(
                    f"a {story['status']} story cannot be {target}",
                    story_status=story["status"],
                    allowed_from=expected,
                )
            changes: dict[str, Any] = {
                "status": target,
                "moderated_at": now,
                "moderated_by": principal.subject,
            }
            if reason:
                changes["reason"] = reason
            if target == "published":
                supporter = await self.repo.get_supporter(story["supporter_id"], session)
                if supporter is None or supporter.get("erased_at") is not None:
                    raise Conflict("the supporter's data was erased")
                if ConsentPurpose.PUBLISH_STORY.value not in supporter.get("consents", {}):
                    raise Conflict("the supporter has not agreed to publication (or withdrew it)")
                changes["published_at"] = now
                changes["display_name"] = display_name(
                    NameForm(story["name_form"]), supporter.get("first_name"), supporter.get("last_name")
                )
            updated = await self.repo.set_story(story_id, expected, changes, session)
            assert updated is not None
            if target == "published":
                await self._emit(
                    session,
                    ev.StoryPublished(
                        **self._scope(campaign), story_id=story_id, organization_id=story["org_id"]
                    ),
                    campaign,
                    story["org_id"],
                )
            return updated

        return await in_transaction(self.client, work)

    async def published_stories(self, *, campaign_id: UUID, after: UUID | None, limit: int) -> list[Document]:
        campaign = await self.repo.get_campaign(campaign_id)
        if campaign is None or campaign.status not in PUBLIC_STATUSES:
            raise NotFound("no such campaign")
        return await self.repo.stories_of(campaign_id, ["published"], after=after, limit=limit)
