"""MongoDB persistence of advocacy-day meetings, outcome goals and their measurements, organizations'
disclosures and conflicts of interest, and impact-report publication (storage names known only here).

Collections: meetings (one per meeting, attendees inside, each with the digest of their report-back
link's token, never the token); outcome_goals (definition, latest measurement and milestones reached:
every measurement writes its goal's document, so concurrent measurements conflict and one retries);
outcome_measurements; org_disclosures (projection of identity's declarations and organization names);
conflicts (one per campaign and organization); impact_publications (one per campaign).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, IndexModel, ReturnDocument

from campaigns.domain.outcomes import OutcomeGoal
from common.errors import NotFound
from common.mongo import Database, Document, Indexes, Session

MEETINGS = "meetings"
OUTCOME_GOALS = "outcome_goals"
MEASUREMENTS = "outcome_measurements"
ORG_DISCLOSURES = "org_disclosures"
CONFLICTS = "conflicts"
PUBLICATIONS = "impact_publications"
# Collections of the target directory and deliveries, read here for impact reports.
LINKS = "links"
TARGETS = "targets"
LETTER_DELIVERIES = "letter_deliveries"
PETITION_DELIVERIES = "petition_deliveries"

ADVOCACY_INDEXES = (
    Indexes(
        MEETINGS,
        (
            IndexModel([("campaign_id", ASCENDING), ("starts_at", ASCENDING)], name="by_campaign"),
            IndexModel(
                [("attendees.token_digest", ASCENDING)],
                name="by_report_token",
                partialFilterExpression={"attendees.token_digest": {"$type": "string"}},
            ),
            IndexModel([("attendees.supporter_id", ASCENDING)], name="by_attendee"),
        ),
    ),
    Indexes(
        OUTCOME_GOALS,
        (
            IndexModel([("campaign_id", ASCENDING), ("created_at", ASCENDING)], name="by_campaign"),
            IndexModel([("coalition_id", ASCENDING), ("created_at", ASCENDING)], name="by_coalition"),
        ),
    ),
    Indexes(
        MEASUREMENTS,
        (IndexModel([("goal_id", ASCENDING), ("measured_on", ASCENDING)], name="by_goal"),),
    ),
    Indexes(
        CONFLICTS,
        (IndexModel([("campaign_id", ASCENDING), ("org_id", ASCENDING)], unique=True, name="campaign_org"),),
    ),
)


def _goal(doc: Document) -> OutcomeGoal:
    return OutcomeGoal.model_validate({**doc, "id": doc["_id"]})


class AdvocacyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # meetings
    async def insert_meeting(self, doc: Document, session: Session) -> None:
        await self.db[MEETINGS].insert_one(doc, session=session)

    async def get_meeting(
        self, campaign_id: UUID, meeting_id: UUID, session: Session | None = None
    ) -> Document | None:
        return await self.db[MEETINGS].find_one(
            {"_id": meeting_id, "campaign_id": campaign_id}, session=session
        )

    async def meeting_by_token_digest(self, digest: str) -> Document | None:
        return await self.db[MEETINGS].find_one({"attendees.token_digest": digest})

    async def meetings_of(self, campaign_id: UUID) -> list[Document]:
        cursor = self.db[MEETINGS].find({"campaign_id": campaign_id})
        return await cursor.sort([("starts_at", ASCENDING), ("_id", ASCENDING)]).limit(1000).to_list()

    async def meetings_of_campaigns(self, campaign_ids: list[UUID]) -> list[Document]:
        cursor = self.db[MEETINGS].find({"campaign_id": {"$in": campaign_ids}})
        return await cursor.sort([("starts_at", ASCENDING), ("_id", ASCENDING)]).limit(5000).to_list()

    async def record_report(self, meeting_id: UUID, report: Document, session: Session) -> Document | None:
        """The meeting with its report, only if it had none (None when another report came first)."""
        return await self.db[MEETINGS].find_one_and_update(
            {"_id": meeting_id, "report": None},
            {"$set": {"report": report}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def forget_attendee(self, supporter_id: UUID, session: Session) -> None:
        """An erased supporter no longer attends: their entry and report-back link go."""
        await self.db[MEETINGS].update_many(
            {"attendees.supporter_id": supporter_id},
            {"$pull": {"attendees": {"supporter_id": supporter_id}}},
            session=session,
        )

    # outcome goals
    async def insert_goal(self, goal: OutcomeGoal, session: Session) -> None:
        doc = goal.model_dump(mode="python", exclude={"id"})
        await self.db[OUTCOME_GOALS].insert_one({"_id": goal.id, **doc}, session=session)

    async def get_goal(self, goal_id: UUID, session: Session | None = None) -> OutcomeGoal | None:
        doc = await self.db[OUTCOME_GOALS].find_one({"_id": goal_id}, session=session)
        return _goal(doc) if doc else None

    async def goals_of(
        self, *, campaign_id: UUID | None = None, coalition_id: UUID | None = None
    ) -> list[OutcomeGoal]:
        query = (
            {"campaign_id": campaign_id}
            if campaign_id is not None
            else {"coalition_id": coalition_id, "campaign_id": None}
        )
        cursor = self.db[OUTCOME_GOALS].find(query).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        return [_goal(d) for d in await cursor.limit(200).to_list()]

    async def update_goal(self, goal_id: UUID, update: dict[str, Any], session: Session) -> OutcomeGoal:
        doc = await self.db[OUTCOME_GOALS].find_one_and_update(
            {"_id": goal_id}, update, return_document=ReturnDocument.AFTER, session=session
        )
        if doc is None:
            raise NotFound("no such outcome goal")
        return _goal(doc)

    async def insert_measurement(self, doc: Document, session: Session) -> None:
        await self.db[MEASUREMENTS].insert_one(doc, session=session)

    async def measurements_of(self, goal_ids: list[UUID]) -> list[Document]:
        cursor = self.db[MEASUREMENTS].find({"goal_id": {"$in": goal_ids}})
        return (
            await cursor.sort([("measured_on", ASCENDING), ("recorded_at", ASCENDING)])
            .limit(10_000)
            .to_list()
        )

    # disclosures (projection of identity's events) and conflicts of interest
    async def set_org(self, org_id: UUID, fields: dict[str, Any], session: Session) -> None:
        await self.db[ORG_DISCLOSURES].update_one(
            {"_id": org_id}, {"$set": fields}, upsert=True, session=session
        )

    async def orgs(self, org_ids: list[UUID], session: Session | None = None) -> dict[UUID, Document]:
        docs = await self.db[ORG_DISCLOSURES].find({"_id": {"$in": org_ids}}, session=session).to_list()
        return {d["_id"]: d for d in docs}

    async def campaigns_linked_to(self, org_id: UUID, session: Session) -> list[UUID]:
        """Campaigns the organization takes part in now (its active owner or adopter links)."""
        docs = self.db[LINKS].find({"org_id": org_id, "state": "active"}, {"campaign_id": 1}, session=session)
        return [d["campaign_id"] for d in await docs.to_list()]

    async def set_conflicts(
        self, campaign_id: UUID, org_id: UUID, fields: dict[str, Any], session: Session
    ) -> None:
        await self.db[CONFLICTS].update_one(
            {"campaign_id": campaign_id, "org_id": org_id}, {"$set": fields}, upsert=True, session=session
        )

    async def conflicts_of(self, campaign_id: UUID, session: Session | None = None) -> dict[UUID, Document]:
        docs = await self.db[CONFLICTS].find({"campaign_id": campaign_id}, session=session).to_list()
        return {d["org_id"]: d for d in docs}

    # impact-report publication
    async def set_published(
        self, campaign_id: UUID, published: bool, now: datetime, by: str, session: Session
    ) -> None:
        await self.db[PUBLICATIONS].update_one(
            {"_id": campaign_id},
            {"$set": {"published": published, "updated_at": now, "updated_by": by}},
            upsert=True,
            session=session,
        )

    async def is_published(self, campaign_id: UUID) -> bool:
        doc = await self.db[PUBLICATIONS].find_one({"_id": campaign_id})
        return bool(doc and doc.get("published"))

    # what the target directory and deliveries hold (read only; written by the targets use cases)
    async def directory_targets(self, ids: list[UUID]) -> dict[UUID, Document]:
        docs = await self.db[TARGETS].find({"_id": {"$in": ids}}).to_list()
        return {d["_id"]: d for d in docs}

    async def letters_per_target(self, campaign_ids: list[UUID]) -> list[Document]:
        """Letter deliveries per target and state: [{target_id, target_name, state, count}]."""
        pipeline: list[Document] = [
            {"$match": {"campaign_id": {"$in": campaign_ids}}},
            {
                "$group": {
                    "_id": {"target_id": "$target_id", "state": "$state"},
                    "target_name": {"$last": "$target_name"},
                    "count": {"$sum": 1},
                }
            },
            {"$sort": {"target_name": 1, "_id.state": 1}},
            {"$limit": 2000},
        ]
        docs = await (await self.db[LETTER_DELIVERIES].aggregate(pipeline)).to_list()
        return [
            {"target_id": d["_id"]["target_id"], "state": d["_id"]["state"], **d}
            for d in docs
            if d["_id"].get("target_id") is not None
        ]

    async def petition_deliveries_of(self, campaign_ids: list[UUID]) -> list[Document]:
        cursor = self.db[PETITION_DELIVERIES].find(
            {"campaign_id": {"$in": campaign_ids}}, {"pdf": 0, "csv": 0}
        )
        return await cursor.sort("_id", ASCENDING).limit(1000).to_list()
