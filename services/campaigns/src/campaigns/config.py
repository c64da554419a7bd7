"""Settings of the campaigns service (environment variables prefixed CAMPAIGNS_)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from common.links import DEVELOPMENT_LINK_SECRET
from common.settings import AuthSettings, KafkaSettings, MongoSettings, ServiceSettings, TelemetrySettings

SERVICE = "campaigns"
DEVELOPMENT_SUPPORTER_SECRET = "development-only-supporter-secret-not-for-production"  # noqa: S105


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
    schedule_sweep_seconds: float = Field(
        30.0, gt=0, description="How often the worker applies scheduled launch and close times"
    )
    public_rate_limit: int = Field(
        30, ge=1, description="Public action requests one client address may make per window"
    )
    public_rate_window_seconds: int = Field(60, ge=1, description="The window of the public rate limit")
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

    link_signing_secret: SecretStr | None = Field(
        None,
        description=(
            "Checks the tokens of the report-back links that notifications mails to advocacy-day "
            "attendees (derived from their ids); the same value as NOTIFICATIONS_LINK_SIGNING_SECRET. "
            "Unset outside development: attendees get no report-back link (managers still report)"
        ),
    )

    @model_validator(mode="after")
    def _supporter_secret_outside_development(self) -> Any:
        if self.supporter_secret is None and not self.is_development:
            raise ValueError("CAMPAIGNS_SUPPORTER_SECRET is required outside development")
        return self

    @property
    def supporter_secret_bytes(self) -> bytes:
        secret = self.supporter_secret.get_secret_value() if self.supporter_secret else None
        return (secret or DEVELOPMENT_SUPPORTER_SECRET).encode()

    @property
    def link_secret(self) -> str | None:
        """The link signing secret; development and tests fall back to the fixed, public one that
        notifications uses there too. None elsewhere when unset."""
        if self.link_signing_secret is not None:
            return self.link_signing_secret.get_secret_value()
        return DEVELOPMENT_LINK_SECRET if self.is_development else None
