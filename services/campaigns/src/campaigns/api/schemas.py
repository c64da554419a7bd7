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
    Ask,
    DecisionMaker,
    EventDetails,
    LetterDetails,
    Message,
    PetitionDetails,
    Place,
    ShareDetails,
    StoryCollectionDetails,
    Text,
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


LanguageCode = Literal["en", "fr", "es", "pt", "de"]


class TranslationIn(Strict):
    """A campaign's texts in another language; a field left out falls back to the default language's."""

    title: Title | None = None
    summary: Summary | None = None
    text: Text | None = Field(None, description="Petition: the text")
    target: DecisionMaker | None = Field(None, description="Petition: the decision-maker")
    subject: Title | None = Field(None, description="Letter: the subject")
    body_template: Text | None = Field(None, description="Letter: the letter")
    ask: Ask | None = Field(None, description="Letter: the ask")
    description: Text | None = Field(None, description="Event: what happens")
    place: Place | None = Field(None, description="Event: the place")
    prompt: Text | None = Field(None, description="Story collection: the prompt")
    consent_text: ConsentText | None = Field(None, description="Story collection: the consent to publication")
    message: Message | None = Field(None, description="Share: the message")
    consent_texts: dict[ConsentPurpose, ConsentText] = Field(
        default_factory=dict, description="The consent texts in this language (each gets its own version)"
    )


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
    double_opt_in: bool | None = Field(
        None,
        description=(
            "A new supporter's action counts only once confirmed by an e-mailed link "
            "(default: on for petitions and letters, off for the other kinds)"
        ),
    )
    default_language: LanguageCode = Field("en", description="The language of the campaign's own texts")
    translations: dict[LanguageCode, TranslationIn] = Field(
        default_factory=dict, description="The texts in other languages, field by field"
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
    double_opt_in: bool | None = None
    default_language: LanguageCode | None = None
    translations: dict[LanguageCode, TranslationIn] | None = Field(
        None, description="Replaces all translations (send every language to keep)"
    )


class GoalRead(BaseModel):
    metric: GoalMetric
    action_kind: ActionKind | None
    target: int
    deadline: datetime


class ConsentTextRead(BaseModel):
    purpose: ConsentPurpose
    version: str
    text: str


class TranslationRead(BaseModel):
    title: str | None = None
    summary: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, description="The kind's texts in this language")
    consent_texts: list[ConsentTextRead] = Field(default_factory=list)


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
    double_opt_in: bool
    default_language: str
    translations: dict[str, TranslationRead]
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
    action_url: str = Field(description="The hosted page of this organization's link (`/p/{ref}`)")
    api_url: str = Field(description="The public API of this organization's link (`/v1/public/links/{ref}`)")
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


class PublicOrganization(BaseModel):
    id: UUID
    name: str | None = Field(description="None until the organization's events reached this service")
    logo_url: str | None = None
    privacy_notice_url: str | None = None


class PublicParty(BaseModel):
    id: UUID
    name: str | None


class PublicCampaign(BaseModel):
    campaign_id: UUID
    ref: str
    organization_id: UUID = Field(description="The organization this link attributes actions to")
    organization: PublicOrganization = Field(description="Whose link it is: shown on the page")
    owner: PublicParty = Field(description="The organization that owns the campaign")
    coalition: PublicParty | None = Field(description="The coalition running it, if any")
    language: str = Field(description="The language of the texts below (the requested one, or the default)")
    default_language: str
    languages: list[str] = Field(description="Languages the campaign has texts in")
    double_opt_in: bool = Field(description="A new supporter's action counts once confirmed by e-mail")
    challenge_required: bool = Field(description="Actions must carry a solved proof-of-work (`altcha`)")
    kind: CampaignKind
    title: str
    summary: str
    details: dict[str, Any]
    status: CampaignStatus
    accepts: list[ActionKind] = Field(description="Action kinds taken now (empty unless active)")
    close_at: datetime | None
    goal: Progress
    counts: dict[str, int]
    unique_supporters: int
    consent_texts: list[ConsentTextRead] = Field(
        description="Show these (in `language`); send back the versions agreed to"
    )
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
    language: LanguageCode | None = Field(
        None,
        description="The language the supporter read the page in (consent versions are of that language's "
        "texts; their e-mails are in it); the campaign's default language when left out",
    )
    altcha: Annotated[str, StringConstraints(max_length=4000, pattern=r"^[A-Za-z0-9+/=_-]*$")] | None = Field(
        None,
        description="The solved proof-of-work (ALTCHA payload, base64) of a challenge from "
        "GET /v1/public/challenge; required unless the service turned the challenge off",
    )
    website: Annotated[str, StringConstraints(max_length=200), ONE_LINE] | None = Field(
        None, description="Leave empty: a form field hidden from people (a filled one marks a robot)"
    )


class SignatureIn(_ActionIn):
    pass


class LetterIn(_ActionIn):
    subject: Title | None = Field(None, description="Personalised subject, when the campaign allows it")
    body: Text | None = None


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
    status: Literal["recorded", "pending_confirmation", "already_recorded"] = Field(
        "recorded",
        description=(
            "`pending_confirmation` (202): held until the supporter uses the link e-mailed to them "
            "(double opt-in), not counted before; `recorded` (201); `already_recorded` (200)"
        ),
    )
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


SupporterToken = Annotated[
    str,
    StringConstraints(pattern=r"^(?:[0-9a-f]{32}\.[A-Za-z0-9_-]{43}|sp_[A-Za-z0-9_-]{43})$"),
    Field(description="The token of a new supporter's first response, or of their own pages' e-mailed link"),
]
LinkToken = Annotated[str, StringConstraints(pattern=r"^ac_[A-Za-z0-9_-]{43}$")]


class ChallengeOut(BaseModel):
    """An ALTCHA challenge: find `number` <= `maxnumber` with SHA-256(salt + number) == challenge, then send
    base64(JSON {algorithm, challenge, number, salt, signature}) as an action's `altcha`."""

    algorithm: Literal["SHA-256"]
    challenge: str
    maxnumber: int
    salt: str = Field(description="Carries the challenge's expiry (`?expires=<unix seconds>`)")
    signature: str


class ConfirmationIn(Strict):
    token: LinkToken = Field(description="The token of the confirmation link e-mailed to the supporter")


class ConfirmationOut(BaseModel):
    status: Literal["confirmed"]
    campaign_id: UUID
    link_ref: str
    action: ActionRead


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
