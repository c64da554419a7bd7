"""Events of the campaigns service, and the PII-free projection it publishes for partner organizations.

`campaigns.campaigns.v1` and `campaigns.actions.v1` are internal topics (other services of the platform);
only `campaigns.action.recorded` may carry a supporter's contact details, and only when the supporter
consented to be contacted by the organization the action is attributed to; `campaigns.action.pending`
carries the address to mail the confirmation link to, for the notifications service alone (never
delivered to partners). `federation.campaigns.v1` is
public: it never carries personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from common.contracts import topics
from common.events import EventPayload

CampaignKind = Literal["petition", "letter", "event", "story_collection", "share"]
CampaignStatus = Literal["draft", "active", "paused", "closed", "archived"]
ActionKind = Literal["signature", "letter", "rsvp", "checkin", "story", "share"]
GoalMetric = Literal["actions", "unique_supporters", "attendance"]
ConsentPurpose = Literal[
    "contact_by_organization", "share_with_coalition", "publish_story", "reply_to", "petition_delivery"
]
Milestone = Literal[25, 50, 75, 100]


class Goal(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: GoalMetric
    action_kind: ActionKind | None = None  # for metric "actions"
    target: int
    deadline: datetime


class _CampaignEvent(EventPayload):
    topic: ClassVar[str] = topics.CAMPAIGNS_CAMPAIGNS
    campaign_id: UUID
    owner_organization_id: UUID
    coalition_id: UUID | None = None


class CampaignCreated(_CampaignEvent):
    event_type: ClassVar[str] = "campaigns.campaign.created"
    kind: CampaignKind
    title: str
    status: CampaignStatus
    goal: Goal
    launch_at: datetime | None = None
    close_at: datetime | None = None


class CampaignUpdated(_CampaignEvent):
    event_type: ClassVar[str] = "campaigns.campaign.updated"
    title: str
    changed_fields: list[str]


class _StatusChanged(_CampaignEvent):
    status: CampaignStatus
    previous_status: CampaignStatus
    scheduled: bool = False  # true when a scheduled launch or close time took effect


class CampaignLaunched(_StatusChanged):
    event_type: ClassVar[str] = "campaigns.campaign.launched"


class CampaignPaused(_StatusChanged):
    event_type: ClassVar[str] = "campaigns.campaign.paused"


class CampaignResumed(_StatusChanged):
    event_type: ClassVar[str] = "campaigns.campaign.resumed"


class CampaignClosed(_StatusChanged):
    event_type: ClassVar[str] = "campaigns.campaign.closed"


class CampaignArchived(_StatusChanged):
    event_type: ClassVar[str] = "campaigns.campaign.archived"


class CampaignAdopted(_CampaignEvent):
    event_type: ClassVar[str] = "campaigns.campaign.adopted"
    organization_id: UUID  # the adopting organization


class AdoptionWithdrawn(_CampaignEvent):
    event_type: ClassVar[str] = "campaigns.adoption.withdrawn"
    organization_id: UUID
    reason: str | None = None


class MilestoneReached(_CampaignEvent):
    event_type: ClassVar[str] = "campaigns.goal.milestone_reached"
    milestone: Milestone
    metric: GoalMetric
    value: int
    target: int


class StoryPublished(_CampaignEvent):
    event_type: ClassVar[str] = "campaigns.story.published"
    story_id: UUID
    organization_id: UUID  # the organization whose link the story came through


class SupporterContact(BaseModel):
    """Contact details, present only with the supporter's consent to be contacted by that organization."""

    model_config = ConfigDict(frozen=True)

    email: str
    first_name: str
    last_name: str | None = None


class _ActionEvent(EventPayload):
    topic: ClassVar[str] = topics.CAMPAIGNS_ACTIONS
    campaign_id: UUID
    owner_organization_id: UUID
    coalition_id: UUID | None = None


class ActionRecorded(_ActionEvent):
    event_type: ClassVar[str] = "campaigns.action.recorded"
    action_id: UUID
    kind: ActionKind
    organization_id: UUID  # attributed to this organization (whose link was used)
    supporter_id: UUID  # pseudonymous, random; never derived from the e-mail address
    recorded_at: datetime | None = None  # when the intake recorded it (the day it counts for)
    # Totals no longer travel with each action: the intake does not know them (the aggregator counts
    # actions in batches; totals are in `federation.campaign.progressed` and the statistics API).
    # Kept as optional fields so that readers of the first shape still validate; always null now.
    counts: dict[str, int] | None = None
    organization_counts: dict[str, int] | None = None
    unique_supporters: int | None = None
    contact: SupporterContact | None = None  # only with consent to contact by `organization_id`
    # True when the supporter also agreed to share with the coalition and the attributed organization's
    # agreement is `contacts_with_consent`: then active coalition members may see `contact` too.
    contact_shared_with_coalition: bool = False


class ActionPending(_ActionEvent):
    """A new supporter's action awaits their confirmation (double opt-in): notifications e-mails them.

    Private to the platform (never delivered to partners, never counted). The links' tokens are not in
    the event: the mailer derives them from `action_id` (the confirmation) and `supporter_ref` (the
    supporter's own pages) under the link signing secret it shares with campaigns (common.links)."""

    event_type: ClassVar[str] = "campaigns.action.pending"
    action_id: UUID  # the pending action: its confirmation link's token is derived from it
    supporter_ref: UUID  # its supporter pages' token is derived from it
    kind: ActionKind
    organization_id: UUID  # whose link it came through
    email: str
    first_name: str
    language: Literal["en", "fr", "es", "pt", "de"]
    campaign_title: str  # in `language`
    organization_name: str | None = None
    pages_url: str  # where the supporter pages are served: {pages_url}/confirm/{token}, /me/{token}
    expires_at: datetime  # the confirmation link works until then


class ConsentWithdrawn(_ActionEvent):
    event_type: ClassVar[str] = "campaigns.consent.withdrawn"
    supporter_id: UUID
    organization_id: UUID
    purposes: list[ConsentPurpose]


class SupporterErased(_ActionEvent):
    """A supporter's personal data was erased here; consumers drop what they hold about `supporter_id`."""

    event_type: ClassVar[str] = "campaigns.supporter.erased"
    supporter_id: UUID
    organization_id: UUID
    requested_by: Literal["supporter", "organization"]


# ---- advocacy that reaches decision-makers (issue 12): work orders for the notifications service --------
# Private (names, e-mail addresses, letters): internal topics only, never forwarded to webhooks.


class DecisionMaker(BaseModel):
    """A target as it was addressed: the directory entry's id and version, name and e-mail address."""

    model_config = ConfigDict(frozen=True)

    target_id: UUID
    target_version: int
    name: str
    email: str


class MailAttachment(BaseModel):
    model_config = ConfigDict(frozen=True)

    filename: str
    content_type: str
    content_base64: str


class LetterDispatchRequested(_ActionEvent):
    """A confirmed letter action: notifications mails it to each target (one mail per letter and target,
    or in the target's daily digest). `reply_to` only with the supporter's consent purpose `reply_to`."""

    event_type: ClassVar[str] = "campaigns.letter.dispatch_requested"
    letter_id: UUID
    organization_id: UUID  # whose link the letter came through
    supporter_id: UUID
    delivery: Literal["per_letter", "digest"]
    from_name: str  # the supporter's name as they gave it
    reply_to: str | None = None
    subject: str
    body: str  # the rendered letter, as the supporter wrote or accepted it
    language: str = "en"
    targets: list[DecisionMaker]


class PetitionDeliveryRequested(_CampaignEvent):
    """A manager delivers a petition by e-mail to one target, with its PDF and CSV attached."""

    event_type: ClassVar[str] = "campaigns.petition.delivery_requested"
    delivery_id: UUID
    organization_id: UUID | None = None  # the delivering organization, when not the owner
    target: DecisionMaker
    subject: str
    body: str
    attachments: list[MailAttachment]


class MeetingAttendee(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    email: str
    language: str = "en"
    # The attendee's report-back link: report_url_base + derive_link_token(secret, "meeting-report",
    # attendee_id) (common.links); absent when campaigns has no link signing secret.
    attendee_id: UUID | None = None


class MeetingTarget(BaseModel):
    model_config = ConfigDict(frozen=True)

    target_id: UUID | None = None
    name: str
    title: str | None = None
    office: str | None = None
    target_version: int | None = None


class MeetingScheduled(_CampaignEvent):
    """An advocacy-day meeting with targets; every attendee is e-mailed the schedule (private event)."""

    event_type: ClassVar[str] = "campaigns.meeting.scheduled"
    meeting_id: UUID
    event_id: UUID | None = None  # the advocacy day (an event of kind advocacy_day), when known
    organization_id: UUID | None = None  # the organization that scheduled it
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    place: str | None = None
    link: str | None = None
    targets: list[MeetingTarget]
    attendees: list[MeetingAttendee]
    time_zone: str | None = None  # IANA name: show starts_at in it
    agenda: str | None = None
    report_url_base: str | None = None  # the attendees' report-back links start with it


CAMPAIGN_EVENTS: tuple[type[EventPayload], ...] = (
    CampaignCreated,
    CampaignUpdated,
    CampaignLaunched,
    CampaignPaused,
    CampaignResumed,
    CampaignClosed,
    CampaignArchived,
    CampaignAdopted,
    AdoptionWithdrawn,
    MilestoneReached,
    StoryPublished,
    PetitionDeliveryRequested,
    MeetingScheduled,
)
ACTION_EVENTS: tuple[type[EventPayload], ...] = (
    ActionRecorded,
    ActionPending,
    ConsentWithdrawn,
    SupporterErased,
    LetterDispatchRequested,
)


# ---- the public federation topic: no personal data, ever -----------------------------------------------


class _FederationEvent(EventPayload):
    topic: ClassVar[str] = topics.FEDERATION_CAMPAIGNS
    campaign_id: UUID
    owner_organization_id: UUID
    coalition_id: UUID | None = None


class FederatedCampaign(_FederationEvent):
    """The campaign as partners may see it, after a lifecycle change, an edit or an adoption."""

    event_type: ClassVar[str] = "federation.campaign.changed"
    kind: CampaignKind
    title: str
    summary: str
    status: CampaignStatus
    goal: Goal
    participating_organization_ids: list[UUID]
    launch_at: datetime | None = None
    close_at: datetime | None = None


class FederatedProgress(_FederationEvent):
    """Totals after an action: per kind, per organization, and the goal's progress."""

    event_type: ClassVar[str] = "federation.campaign.progressed"
    counts: dict[str, int]
    organization_counts: dict[str, dict[str, int]]  # organization id -> kind -> count
    unique_supporters: int
    goal_value: int
    goal_target: int
    goal_percent: float


class FederatedMilestone(_FederationEvent):
    event_type: ClassVar[str] = "federation.campaign.milestone_reached"
    milestone: Milestone
    metric: GoalMetric
    value: int
    target: int


FEDERATION_EVENTS: tuple[type[EventPayload], ...] = (FederatedCampaign, FederatedProgress, FederatedMilestone)


# ---- advocacy days, outcome goals and disclosures (issue 12, C1b) ---------------------------------------

MeetingOutcome = Literal["supportive", "undecided", "opposed", "no_show", "follow_up_needed"]
OutcomeVerdict = Literal["achieved", "partly_achieved", "missed"]
Direction = Literal["increase", "decrease"]


class MeetingReported(_CampaignEvent):
    """The report-back of a meeting (no personal data: outcome and decision-makers only)."""

    event_type: ClassVar[str] = "campaigns.meeting.reported"
    meeting_id: UUID
    organization_id: UUID
    outcome: MeetingOutcome
    follow_up_needed: bool
    reported_by: Literal["attendee", "manager"]
    starts_at: datetime
    targets: list[MeetingTarget]


class _OutcomeEvent(EventPayload):
    """An outcome goal belongs to a campaign or to a coalition (key: the campaign's or coalition's id)."""

    topic: ClassVar[str] = topics.CAMPAIGNS_CAMPAIGNS
    goal_id: UUID
    campaign_id: UUID | None = None
    coalition_id: UUID | None = None
    owner_organization_id: UUID | None = None
    indicator: str
    unit: str


class OutcomeMeasured(_OutcomeEvent):
    event_type: ClassVar[str] = "campaigns.outcome.measured"
    measurement_id: UUID
    measured_on: date
    value: float
    baseline: float
    target: float
    direction: Direction
    percent: float  # progress of the goal's current (latest) measurement, 0..100


class OutcomeMilestoneReached(_OutcomeEvent):
    event_type: ClassVar[str] = "campaigns.outcome.milestone_reached"
    milestone: Milestone
    value: float
    baseline: float
    target: float
    percent: float


class OutcomeJudged(_OutcomeEvent):
    event_type: ClassVar[str] = "campaigns.outcome.judged"
    verdict: OutcomeVerdict
    statement: str


CAMPAIGN_EVENTS = (
    *CAMPAIGN_EVENTS,
    MeetingReported,
    OutcomeMeasured,
    OutcomeMilestoneReached,
    OutcomeJudged,
)


class FederatedMeetingReported(_FederationEvent):
    event_type: ClassVar[str] = "federation.meeting.reported"
    meeting_id: UUID
    organization_id: UUID
    outcome: MeetingOutcome
    follow_up_needed: bool
    starts_at: datetime
    targets: list[MeetingTarget]


class DisclosedFunder(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    amount_band: str
    year: int
    purpose: str | None = None


class OrganizationDisclosure(BaseModel):
    """What an organization taking part in a campaign declared: its funders and its conflicts of interest
    relevant to the campaign (organizations' public statements, never supporters' data)."""

    model_config = ConfigDict(frozen=True)

    organization_id: UUID
    role: Literal["owner", "adopter"]
    declared_at: datetime | None = None  # none: no funding declaration yet
    current: bool = False  # declared less than a year ago
    funders: list[DisclosedFunder] = []
    conflicts_of_interest: str | None = None


class FederatedDisclosures(_FederationEvent):
    """The disclosures of the organizations taking part in a public campaign, after any of them changed."""

    event_type: ClassVar[str] = "federation.campaign.disclosures_changed"
    organizations: list[OrganizationDisclosure]


FEDERATION_EVENTS = (*FEDERATION_EVENTS, FederatedMeetingReported, FederatedDisclosures)


# ---- decision-makers and what is delivered to them (issue 12, C1a) ---------------------------------------
TargetLevel = Literal["local", "regional", "national", "supranational"]


class TargetChanged(EventPayload):
    """A decision-maker of an organization's or a coalition's directory was created, edited, imported or
    retired; `version` is the new version (letters name the version they were addressed to). Key: the
    target id. Public officials' roles only: the e-mail address and the postal codes stay in the service."""

    topic: ClassVar[str] = topics.CAMPAIGNS_CAMPAIGNS
    event_type: ClassVar[str] = "campaigns.target.changed"
    target_id: UUID
    version: int
    change: Literal["created", "updated", "retired"]
    organization_id: UUID | None = None
    coalition_id: UUID | None = None
    name: str
    title: str | None = None
    office: str | None = None
    level: TargetLevel
    jurisdiction: str | None = None
    district: str | None = None
    country: str
    retired: bool = False


class DeliveredTarget(BaseModel):
    """Whom a petition was delivered to: the directory entry (if any), name and office; no e-mail."""

    model_config = ConfigDict(frozen=True)

    target_id: UUID | None = None
    target_version: int | None = None
    name: str
    office: str | None = None


class PetitionDelivered(_CampaignEvent):
    """A petition reached its decision-maker: downloaded by a manager to hand over, or e-mailed (then
    when the notifications service reported it sent). Totals only, no supporter's data."""

    event_type: ClassVar[str] = "campaigns.petition.delivered"
    delivery_id: UUID
    target: DeliveredTarget
    method: Literal["download", "email"]
    total_signatures: int
    delivered_at: datetime


class FederatedPetitionDelivered(_FederationEvent):
    event_type: ClassVar[str] = "federation.petition.delivered"
    delivery_id: UUID
    target: DeliveredTarget
    method: Literal["download", "email"]
    total_signatures: int
    delivered_at: datetime


CAMPAIGN_EVENTS = (*CAMPAIGN_EVENTS, TargetChanged, PetitionDelivered)
FEDERATION_EVENTS = (*FEDERATION_EVENTS, FederatedPetitionDelivered)
