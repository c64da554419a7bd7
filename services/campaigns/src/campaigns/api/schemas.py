"""Request and response bodies of the campaigns API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)

from campaigns.domain.campaigns import ActionKind, CampaignKind, CampaignStatus, GoalMetric
from campaigns.domain.details import (
    EventDetails,
    LetterDetails,
    PetitionDetails,
    ShareDetails,
    StoryCollectionDetails,
)
from campaigns.domain.supporters import ConsentPurpose, NameForm
from common.contracts.campaigns import OrganizationDisclosure
from common.text import MULTI_LINE, ONE_LINE

# Names and titles are ONE_LINE, free texts MULTI_LINE (common.text: no control or format characters).
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), MULTI_LINE]
ConsentText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000), MULTI_LINE
]


def _timestamp(value: Any) -> Any:
    """Only an RFC 3339 string is a time here: a number would silently be read as seconds since 1970."""
    if not isinstance(value, str | datetime):
        raise ValueError("a date and time is an RFC 3339 string with an offset")
    return value


def _in_future(value: datetime) -> datetime:
    if value <= datetime.now(UTC):
        raise ValueError("a scheduled time must be in the future")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_timestamp)]
Scheduled = Annotated[Moment, AfterValidator(_in_future)]
Version = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^<>]+$"), ONE_LINE
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoalIn(Strict):
    metric: GoalMetric
    action_kind: ActionKind | None = Field(None, description="For `actions` goals: which actions count")
    target: int = Field(ge=1, le=1_000_000_000)
    deadline: Moment


class _CampaignCreate(Strict):
    organization_id: UUID = Field(description="The organization creating it (owner, or the acting lead)")
    coalition_id: UUID | None = Field(None, description="Set for a coalition campaign")
    title: Title
    summary: Summary = ""
    goal: GoalIn
    launch_at: Scheduled | None = Field(None, description="Launch on its own at this time")
    close_at: Scheduled | None = Field(None, description="Close on its own at this time")
    consent_texts: dict[ConsentPurpose, ConsentText] = Field(
        default_factory=dict, description="Own wording of the consent texts (defaults are provided)"
    )


class PetitionCreate(_CampaignCreate):
    kind: Literal["petition"]
    details: PetitionDetails


class LetterCreate(_CampaignCreate):
    kind: Literal["letter"]
    details: LetterDetails


class EventCreate(_CampaignCreate):
    kind: Literal["event"]
    details: EventDetails


class StoryCollectionCreate(_CampaignCreate):
    kind: Literal["story_collection"]
    details: StoryCollectionDetails


class ShareCreate(_CampaignCreate):
    kind: Literal["share"]
    details: ShareDetails


CampaignCreate = Annotated[
    PetitionCreate | LetterCreate | EventCreate | StoryCollectionCreate | ShareCreate,
    Field(discriminator="kind"),
]


class CampaignUpdate(Strict):
    title: Title | None = None
    summary: Summary | None = None
    details: dict[str, Any] | None = Field(
        None, description="The whole details object of the campaign's kind"
    )
    goal: GoalIn | None = None
    launch_at: Scheduled | None = None
    close_at: Scheduled | None = None
    consent_texts: dict[ConsentPurpose, ConsentText] | None = None


class GoalRead(BaseModel):
    metric: GoalMetric
    action_kind: ActionKind | None
    target: int
    deadline: datetime


class ConsentTextRead(BaseModel):
    purpose: ConsentPurpose
    version: str
    text: str


class CampaignRead(BaseModel):
    id: UUID
    kind: CampaignKind
    title: str
    summary: str
    details: dict[str, Any]
    goal: GoalRead
    owner_organization_id: UUID
    coalition_id: UUID | None
    status: CampaignStatus
    launch_at: datetime | None
    close_at: datetime | None
    consent_texts: list[ConsentTextRead]
    created_at: datetime
    updated_at: datetime


class CampaignPage(BaseModel):
    items: list[CampaignRead]
    next_cursor: str | None


class Adoption(Strict):
    organization_id: UUID


class LinkRead(BaseModel):
    ref: str = Field(description="The link's code")
    organization_id: UUID
    role: Literal["owner", "adopter"]
    state: Literal["active", "withdrawn"]
    action_url: str = Field(description="Public page and action endpoints of this organization's link")
    created_at: datetime


class Progress(BaseModel):
    metric: GoalMetric
    action_kind: ActionKind | None
    target: int
    deadline: datetime
    value: int
    percent: float


class OrganizationContribution(BaseModel):
    organization_id: UUID
    counts: dict[str, int]
    unique_supporters: int


class Day(BaseModel):
    date: date
    counts: dict[str, int]


class MilestoneRead(BaseModel):
    milestone: int
    value: int
    reached_at: datetime


class StatsRead(BaseModel):
    campaign_id: UUID
    status: CampaignStatus
    counts: dict[str, int] = Field(description="Actions per kind")
    unique_supporters: int
    by_organization: list[OrganizationContribution]
    daily: list[Day] = Field(description="Actions per kind per day (UTC), oldest first")
    goal: Progress
    milestones: list[MilestoneRead]


class SupporterRead(BaseModel):
    id: UUID
    organization_id: UUID = Field(description="The organization whose link the supporter first used")
    email: str
    first_name: str
    last_name: str | None
    postal_code: str | None
    country: str | None
    consents: list[ConsentPurpose]
    shared_by_coalition: bool = Field(description="A supporter of another member, shared under its agreement")
    created_at: datetime


class SupporterPage(BaseModel):
    items: list[SupporterRead]
    next_cursor: str | None


class StoryRead(BaseModel):
    id: UUID
    organization_id: UUID
    title: str
    body: str
    name_form: NameForm
    status: Literal["submitted", "approved", "rejected", "published", "withdrawn", "erased"]
    submitted_at: datetime
    moderated_at: datetime | None = None
    reason: str | None = None
    published_at: datetime | None = None


class StoryPage(BaseModel):
    items: list[StoryRead]
    next_cursor: str | None


class Moderation(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MULTI_LINE] | None = None


# ---- public ----------------------------------------------------------------------------------------


class PublicCampaign(BaseModel):
    campaign_id: UUID
    ref: str
    organization_id: UUID = Field(description="The organization this link attributes actions to")
    kind: CampaignKind
    title: str
    summary: str
    details: dict[str, Any]
    status: CampaignStatus
    accepts: list[ActionKind] = Field(description="Action kinds taken now (empty unless active)")
    close_at: datetime | None
    goal: Progress
    counts: dict[str, int]
    consent_texts: list[ConsentTextRead] = Field(description="Show these; send back the versions agreed to")
    disclosures: list[OrganizationDisclosure] = Field(
        default_factory=list,
        description="Funding and conflicts of interest of the owner and of the organization whose link it is",
    )


class SupporterIn(Strict):
    email: EmailStr = Field(max_length=254)
    first_name: PersonName
    last_name: PersonName | None = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 -]{2,12}$")] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None


class _ActionIn(Strict):
    supporter: SupporterIn
    consents: dict[ConsentPurpose, Version] = Field(
        default_factory=dict,
        description="Consents given, each with the version of the text shown (from the public campaign)",
    )


class SignatureIn(_ActionIn):
    pass


class LetterIn(_ActionIn):
    subject: Title | None = Field(None, description="Personalised subject, when the campaign allows it")
    body: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), MULTI_LINE]
        | None
    ) = None


class RsvpIn(_ActionIn):
    pass


class CheckinIn(_ActionIn):
    pass


class StoryIn(_ActionIn):
    title: Title
    body: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000), MULTI_LINE
    ]
    name_form: NameForm = Field(description="How the name shows if the story is published")


class ShareIn(_ActionIn):
    platform: Literal[
        "facebook", "x", "bluesky", "mastodon", "linkedin", "instagram", "whatsapp", "email", "other"
    ]


class ActionRead(BaseModel):
    id: UUID
    campaign_id: UUID
    kind: ActionKind
    organization_id: UUID
    created_at: datetime


class ActionOut(BaseModel):
    action: ActionRead
    already_recorded: bool = Field(description="The supporter had already taken this action: nothing changed")
    replayed: bool = Field(False, description="The first result of this Idempotency-Key")
    supporter_token: str | None = Field(
        None,
        description=(
            "For a new supporter only, in the first response only (an idempotent replay never carries "
            "it): lets them read their data, withdraw consent or erase their data later"
        ),
    )


class PublicStory(BaseModel):
    id: UUID
    organization_id: UUID
    title: str
    body: str
    display_name: str
    published_at: datetime


class PublicStoryPage(BaseModel):
    items: list[PublicStory]
    next_cursor: str | None


SupporterToken = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$")]


class TokenIn(Strict):
    token: SupporterToken


class ConsentWithdrawal(Strict):
    token: SupporterToken
    purposes: list[ConsentPurpose] = Field(min_length=1, max_length=3)


class ConsentRead(BaseModel):
    purpose: ConsentPurpose
    version: str
    given_at: datetime


class SupporterSelf(BaseModel):
    id: UUID
    campaign_id: UUID
    email: str
    first_name: str
    last_name: str | None
    postal_code: str | None
    country: str | None
    consents: list[ConsentRead]
    created_at: datetime
