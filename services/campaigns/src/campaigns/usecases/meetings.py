"""Advocacy-day meetings: a manager schedules a meeting with decision-makers for supporters who RSVP'd
through the organization's link; notifications e-mails them the schedule with a report-back link; after
the meeting an attendee (by that link) or a manager records how it went.

The report-back link's token is derived from the attendee's id with the link signing secret shared with
notifications (`common.links`): the event carries only the id, and only the token's digest is kept here.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Literal
from uuid import UUID

from campaigns.domain.campaigns import ActionKind, Campaign, CampaignKind, CampaignStatus
from campaigns.domain.meetings import MeetingIn, MeetingOutcome, ReportIn, require_advocacy_day, require_held
from campaigns.usecases.advocacy import AdvocacyBase
from campaigns.usecases.base import WRITE_SCOPE
from common import links
from common.auth import Principal
from common.contracts import campaigns as ev
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.events import utcnow
from common.mongo import Document, Session, in_transaction

REPORT_PATH = "/v1/public/meeting-reports?report_token="


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Meetings(AdvocacyBase):
    """Meetings with decision-makers at advocacy days, and their report-backs."""

    async def _targets(self, campaign: Campaign, given: list[Any]) -> list[ev.MeetingTarget]:
        """Targets as the meeting names them: directory entries (the campaign's organization's or
        coalition's, at their current version) or names given here."""
        ids = [t.target_id for t in given if t.target_id is not None]
        found = await self.advocacy.directory_targets(ids) if ids else {}
        targets: list[ev.MeetingTarget] = []
        for i, t in enumerate(given):
            if t.target_id is None:
                targets.append(ev.MeetingTarget(name=t.name, office=t.office))
                continue
            doc = found.get(t.target_id)
            ours = doc is not None and (
                doc.get("organization_id") == campaign.owner_org_id
                or (campaign.coalition_id is not None and doc.get("coalition_id") == campaign.coalition_id)
            )
            if doc is None or not ours:
                raise InvalidInput(
                    "no such target in the campaign's directory", field=f"targets.{i}.target_id"
                )
            targets.append(
                ev.MeetingTarget(
                    target_id=t.target_id,
                    target_version=doc.get("version"),
                    name=t.name or doc["name"],
                    title=doc.get("title"),
                    office=t.office or doc.get("office"),
                )
            )
        return targets

    async def schedule_meeting(
        self, *, principal: Principal, campaign_id: UUID, meeting: MeetingIn
    ) -> Document:
        standing = await self._managed(principal, campaign_id)
        campaign = standing.campaign
        if campaign.kind is not CampaignKind.EVENT:
            raise Conflict("meetings belong to advocacy days (event campaigns)", kind=campaign.kind.value)
        require_advocacy_day(campaign.details)
        if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.ARCHIVED):
            raise Conflict(
                f"a {campaign.status.value} advocacy day has no meetings to schedule",
                campaign_status=campaign.status.value,
            )
        org_id = standing.manages_for or campaign.owner_org_id
        targets = await self._targets(campaign, meeting.targets)
        secret = self.settings.link_secret
        meeting_id = uuid.uuid4()
        now = utcnow()

        async def work(session: Session) -> Document:
            attendees: list[Document] = []
            mailed: list[ev.MeetingAttendee] = []
            for i, supporter_id in enumerate(meeting.attendee_ids):
                supporter = await self.repo.get_supporter(supporter_id, session)
                rsvp = await self.repo.find_action(campaign.id, ActionKind.RSVP.value, supporter_id, session)
                if (
                    supporter is None
                    or supporter["campaign_id"] != campaign.id
                    or supporter.get("erased_at") is not None
                    or rsvp is None
                    or (supporter["org_id"] != org_id and not standing.platform_admin)
                ):
                    raise InvalidInput(
                        "attendees are supporters who RSVP'd through the organization's link",
                        field=f"attendee_ids.{i}",
                    )
                attendee_id = uuid.uuid4()
                token = links.derive_link_token(secret, links.MEETING_REPORT, attendee_id) if secret else None
                attendees.append(
                    {
                        "attendee_id": attendee_id,
                        "supporter_id": supporter_id,
                        "token_digest": token_digest(token) if token else None,
                    }
                )
                name = " ".join(p for p in (supporter["first_name"], supporter.get("last_name")) if p)
                mailed.append(
                    ev.MeetingAttendee(
                        attendee_id=attendee_id if token else None,
                        name=name,
                        email=supporter["email"],
                        language=supporter.get("language") or "en",
                    )
                )
            doc: Document = {
                "_id": meeting_id,
                "campaign_id": campaign.id,
                "org_id": org_id,
                "starts_at": meeting.starts_at,
                "ends_at": meeting.ends_at,
                "time_zone": meeting.time_zone,
                "place": meeting.place,
                "online_url": str(meeting.online_url) if meeting.online_url else None,
                "agenda": meeting.agenda,
                "targets": [t.model_dump(mode="python") for t in targets],
                "attendees": attendees,
                "report": None,
                "created_by": principal.subject,
                "created_at": now,
            }
            await self.advocacy.insert_meeting(doc, session)
            await self._emit(
                session,
                ev.MeetingScheduled(
                    **self._scope(campaign),
                    meeting_id=meeting_id,
                    organization_id=org_id,
                    title=campaign.title,
                    starts_at=meeting.starts_at,
                    ends_at=meeting.ends_at,
                    time_zone=meeting.time_zone,
                    place=meeting.place,
                    link=doc["online_url"],
                    agenda=meeting.agenda,
                    targets=targets,
                    attendees=mailed,
                    report_url_base=f"{self.settings.base_url}{REPORT_PATH}" if secret else None,
                ),
                campaign,
                org_id,
            )
            return doc

        return await in_transaction(self.client, work)

    async def meetings(
        self, *, principal: Principal, campaign_id: UUID
    ) -> tuple[list[Document], dict[UUID, Document]]:
        """The campaign's meetings and their attendees' supporter records (for names), for its managers."""
        standing = await self._managed_read(principal, campaign_id)
        docs = await self.advocacy.meetings_of(standing.id)
        people: dict[UUID, Document] = {}
        for doc in docs:
            for a in doc["attendees"]:
                supporter = await self.repo.get_supporter(a["supporter_id"])
                if supporter is not None and supporter.get("erased_at") is None:
                    people[a["supporter_id"]] = supporter
        return docs, people

    async def _managed_read(self, principal: Principal, campaign_id: UUID) -> Campaign:
        standing = await self.standing(principal=principal, campaign_id=campaign_id, scope=WRITE_SCOPE)
        if not standing.manages:
            raise Forbidden(
                "only organizers and admins of the owning organization (or of a lead organization of the owning coalition) see its meetings and attendees"
            )
        return standing.campaign

    async def report_meeting(
        self, *, principal: Principal, campaign_id: UUID, meeting_id: UUID, report: ReportIn
    ) -> Document:
        standing = await self._managed(principal, campaign_id)
        meeting = await self.advocacy.get_meeting(standing.campaign.id, meeting_id)
        if meeting is None:
            raise NotFound("no such meeting")
        return await self._report(standing.campaign, meeting, report, "manager", principal.subject)

    async def meeting_by_token(self, token: str) -> tuple[Campaign, Document]:
        """The meeting an attendee's report-back link is for (404 for any other token)."""
        meeting = await self.advocacy.meeting_by_token_digest(token_digest(token))
        campaign = await self.repo.get_campaign(meeting["campaign_id"]) if meeting else None
        if meeting is None or campaign is None:
            raise NotFound("no meeting has this report-back link")
        return campaign, meeting

    async def report_by_attendee(self, *, token: str, report: ReportIn) -> Document:
        campaign, meeting = await self.meeting_by_token(token)
        digest = token_digest(token)
        attendee = next(a for a in meeting["attendees"] if a.get("token_digest") == digest)
        return await self._report(
            campaign, meeting, report, "attendee", f"attendee:{attendee['attendee_id']}"
        )

    async def _report(
        self,
        campaign: Campaign,
        meeting: Document,
        report: ReportIn,
        by: Literal["attendee", "manager"],
        who: str,
    ) -> Document:
        now = utcnow()
        require_held(meeting["starts_at"], now)
        if meeting.get("report") is not None:
            raise Conflict("the meeting's report-back was already recorded", meeting_id=str(meeting["_id"]))
        follow_up = report.outcome is MeetingOutcome.FOLLOW_UP_NEEDED or report.follow_up is not None
        stored: Document = {
            **report.model_dump(mode="json"),
            "follow_up_needed": follow_up,
            "reported_by": by,
            "reporter": who,
            "reported_at": now,
        }

        async def work(session: Session) -> Document:
            updated = await self.advocacy.record_report(meeting["_id"], stored, session)
            if updated is None:
                raise Conflict(
                    "the meeting's report-back was already recorded", meeting_id=str(meeting["_id"])
                )
            facts: dict[str, Any] = {
                "meeting_id": meeting["_id"],
                "organization_id": meeting["org_id"],
                "outcome": report.outcome.value,
                "follow_up_needed": follow_up,
                "starts_at": meeting["starts_at"],
                "targets": [ev.MeetingTarget.model_validate(t) for t in meeting["targets"]],
            }
            await self._emit(
                session,
                ev.MeetingReported(**self._scope(campaign), reported_by=by, **facts),
                campaign,
                meeting["org_id"],
            )
            await self._emit(
                session,
                ev.FederatedMeetingReported(**self._scope(campaign), **facts),
                campaign,
                meeting["org_id"],
            )
            return updated

        return await in_transaction(self.client, work)
