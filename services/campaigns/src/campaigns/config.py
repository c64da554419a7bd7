"""Settings of the campaigns service (environment variables prefixed CAMPAIGNS_)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from common.links import DEVELOPMENT_LINK_SECRET
from common.settings import AuthSettings, KafkaSettings, MongoSettings, ServiceSettings, TelemetrySettings

SERVICE = "campaigns"
DEVELOPMENT_SUPPORTER_SECRET = "development-only-supporter-secret-not-for-production"  # noqa: S105
DEVELOPMENT_CHALLENGE_KEY = "development-only-challenge-key-not-for-production"


class Settings(ServiceSettings, MongoSettings, KafkaSettings, AuthSettings, TelemetrySettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGNS_", extra="ignore")

    port: int = Field(8003, ge=1, le=65535, description="Port the HTTP API listens on")
    supporter_secret: SecretStr | None = Field(
        None,
        description=(
            "Keys the e-mail lookup hashes and signs supporters' management tokens; required outside "
            "development (changing it invalidates issued tokens and splits deduplication)"
        ),
    )
    public_base_url: str | None = Field(
        None,
        description=(
            "Base URL of the supporters' pages (`/p/{ref}`, `/confirm/...`, `/me/...`) as supporters reach "
            "them; defaults to the service's own public URL"
        ),
    )
    link_signing_secret: SecretStr | None = Field(
        None,
        description=(
            "Derives the tokens of the links e-mailed to supporters (confirmation, own pages) and to "
            "advocacy-day attendees (report-back) from their ids; the same value as "
            "NOTIFICATIONS_LINK_SIGNING_SECRET, which mails them. Required outside development"
        ),
    )
    confirmation_ttl_hours: float = Field(
        72.0,
        gt=0,
        le=24 * 30,
        description=(
            "How long a supporter may confirm a pending action (double opt-in); unconfirmed actions are "
            "erased after that"
        ),
    )
    pending_sweep_seconds: float = Field(
        60.0, gt=0, description="How often the worker erases pending actions whose confirmation expired"
    )
    challenge_hmac_key: SecretStr | None = Field(
        None,
        description=(
            "Signs the proof-of-work challenges (ALTCHA); required outside development (every replica "
            "must share it)"
        ),
    )
    challenge_max_number: int = Field(
        50_000,
        ge=1_000,
        le=10_000_000,
        description="The proof-of-work's difficulty: the largest number a browser may have to try",
    )
    challenge_ttl_seconds: int = Field(
        600, ge=30, le=86_400, description="How long a challenge may be solved and used"
    )
    schedule_sweep_seconds: float = Field(
        30.0, gt=0, description="How often the worker applies scheduled launch and close times"
    )
    public_rate_limit: int = Field(
        30, ge=1, description="Public action requests one client address may make per window"
    )
    public_rate_window_seconds: int = Field(60, ge=1, description="The window of the public rate limit")
    public_challenge_required: bool = Field(
        True,
        description=(
            "Every public action must carry a solved proof-of-work challenge (ALTCHA, from "
            "GET /v1/public/challenge); turn off only for tests and load tests"
        ),
    )
    trust_forwarded_for: bool = Field(
        False,
        description="Take the client address from X-Forwarded-For (only behind a proxy that sets it)",
    )
    lookup_cache_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description=(
            "How long the action intake may keep a link, campaign or membership it read (changes made "
            "anywhere are seen at once through a change stream; this bounds staleness without one)"
        ),
    )
    aggregate_batch_size: int = Field(
        500, ge=1, le=10_000, description="Recorded actions the aggregator counts in one batch at most"
    )
    actions_topic_partitions: int = Field(
        12,
        ge=1,
        le=1000,
        description=(
            "Partitions of campaigns.actions.v1 when this service creates it (the aggregator's replicas "
            "share campaigns by partition; an existing topic is left as it is)"
        ),
    )
    actions_topic_replication: int = Field(
        1, ge=1, le=7, description="Replication factor of campaigns.actions.v1 when created (3 on a cluster)"
    )
    aggregate_sweep_seconds: float = Field(
        10.0,
        gt=0,
        description="How often the worker counts actions that no event brought to the aggregator",
    )
    aggregate_sweep_grace_seconds: float = Field(
        5.0, gt=0, description="How old an uncounted action must be before the sweeper counts it"
    )
    idempotency_ttl_hours: int = Field(
        24, ge=1, le=24 * 30, description="How long an Idempotency-Key replays the first result"
    )

    @model_validator(mode="after")
    def _supporter_secret_outside_development(self) -> Any:
        if self.supporter_secret is None and not self.is_development:
            raise ValueError("CAMPAIGNS_SUPPORTER_SECRET is required outside development")
        if self.link_signing_secret is None and not self.is_development:
            raise ValueError("CAMPAIGNS_LINK_SIGNING_SECRET is required outside development")
        if self.challenge_hmac_key is None and not self.is_development:
            raise ValueError("CAMPAIGNS_CHALLENGE_HMAC_KEY is required outside development")
        return self

    @property
    def link_secret(self) -> str:
        """The link signing secret; development and tests fall back to a fixed, public one."""
        if self.link_signing_secret is None:
            return DEVELOPMENT_LINK_SECRET
        return self.link_signing_secret.get_secret_value()

    @property
    def challenge_key(self) -> str:
        if self.challenge_hmac_key is None:
            return DEVELOPMENT_CHALLENGE_KEY
        return self.challenge_hmac_key.get_secret_value()

    @property
    def pages_url(self) -> str:
        return (self.public_base_url or self.base_url).rstrip("/")

    @property
    def supporter_secret_bytes(self) -> bytes:
        secret = self.supporter_secret.get_secret_value() if self.supporter_secret else None
        return (secret or DEVELOPMENT_SUPPORTER_SECRET).encode()
