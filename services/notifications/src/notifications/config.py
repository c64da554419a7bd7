"""Settings of the notifications service (environment variables prefixed NOTIFICATIONS_)."""

from __future__ import annotations

from email.utils import parseaddr
from functools import cached_property

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from common.links import DEVELOPMENT_LINK_SECRET
from common.sealing import Sealer
from common.settings import (
    AuthSettings,
    Environment,
    KafkaSettings,
    MongoSettings,
    ServiceSettings,
    TelemetrySettings,
)

SERVICE = "notifications"

# Standard Webhooks' suggested schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE = [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
# Requests per second to one endpoint unless it sets its own: 2.5 times the action path's design peak
# (200 actions/s on one campaign), so a busy campaign is never throttled (docs/decisions/0009).
DEFAULT_ENDPOINT_RATE = 500.0


class Settings(ServiceSettings, MongoSettings, KafkaSettings, AuthSettings, TelemetrySettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    port: int = Field(8004, ge=1, le=65535, description="Port the HTTP API listens on")

    # webhooks
    retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE),
        description="Delay before each attempt, counted from the previous one (JSON list; the first is "
        "the delay after the event arrived)",
    )
    retry_jitter_ratio: float = Field(
        0.1, ge=0, le=0.5, description="Random spread added to each retry delay, as a fraction of it"
    )
    retry_after_max_seconds: float = Field(
        36000.0, gt=0, description="Longest Retry-After (on 429 and 503) that is honoured as given"
    )
    delivery_timeout_seconds: float = Field(15.0, gt=0, le=60, description="Timeout of one webhook request")
    delivery_lease_seconds: float = Field(
        60.0, gt=0, description="How long a replica holds a claimed attempt before another may take it"
    )
    delivery_poll_seconds: float = Field(
        10.0,
        gt=0,
        description="Fallback only: how often the delivery worker and the mailer look for due work when "
        "nothing woke them (new work wakes them at once, scheduled retries by a timer)",
    )
    delivery_concurrency: int = Field(
        128, ge=1, le=1024, description="Webhook attempts one replica runs at once, over all endpoints"
    )
    endpoint_concurrency: int = Field(
        32, ge=1, le=256, description="Webhook attempts one replica runs at once to one endpoint"
    )
    endpoint_rate_per_second: float = Field(
        DEFAULT_ENDPOINT_RATE,
        gt=0,
        description="Most webhook requests per second to one endpoint, all replicas together (an endpoint "
        "may set its own); the default is above a busy campaign's rate, see decision 0009",
    )
    disable_after_failing_seconds: float = Field(
        5 * 24 * 3600.0, gt=0, description="An endpoint failing without a success this long is disabled"
    )
    secret_rotation_grace_seconds: int = Field(
        24 * 3600, ge=0, le=30 * 24 * 3600, description="How long the previous secret keeps signing"
    )
    response_snippet_bytes: int = Field(
        512, ge=0, le=8192, description="How much of an endpoint's response body is kept per attempt"
    )
    allow_loopback_endpoints: bool = Field(
        False, description="Accept endpoints on loopback addresses (development and tests only)"
    )
    message_retention_days: int = Field(30, ge=1, description="How long delivered messages are kept")

    # e-mail
    smtp_host: str = Field("127.0.0.1", description="SMTP server that sends the e-mail notices")
    smtp_port: int = Field(1025, ge=1, le=65535, description="Its port (the dev SMTP sink listens on 1025)")
    smtp_username: str | None = Field(None, description="SMTP user, when the server wants a login")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS")
    smtp_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one SMTP conversation")
    mail_from: str = Field(
        "Coalition Platform <notifications@coalition-platform.dev>", description="From: of e-mail notices"
    )
    mail_batch_size: int = Field(
        50, ge=1, le=500, description="E-mails sent one after another over one SMTP connection"
    )
    mail_max_attempts: int = Field(8, ge=1, le=50, description="Attempts at sending one e-mail")
    mail_retry_seconds: float = Field(30.0, gt=0, description="Base delay between e-mail attempts (doubles)")
    app_url: str = Field(
        "http://127.0.0.1:8004", description="Where people use the platform; links in notices point here"
    )

    # mail to decision-makers (letters, petition deliveries) and meeting schedules
    letter_digest_seconds: float = Field(
        86400.0,
        gt=0,
        description="Digest letters: a target's digest (per campaign and organization) opens with its first "
        "queued letter and is sent this many seconds later with every letter queued meanwhile",
    )
    letter_max_attempts: int = Field(
        8, ge=1, le=50, description="Attempts at sending one letter or petition to one target"
    )
    letter_retry_seconds: float = Field(
        60.0, gt=0, description="Base delay between attempts at a letter or petition (doubles each time)"
    )
    letter_batch_size: int = Field(
        200,
        ge=1,
        le=1000,
        description="Letters to decision-makers claimed at once (sent over one connection)",
    )
    sent_retention_days: int = Field(
        365,
        ge=1,
        description="How long mail kept as sent to decision-makers is kept after its campaign is archived",
    )

    link_signing_secret: SecretStr | None = Field(
        None,
        description=(
            "Derives the tokens of the links it mails (e-mail verification) from the ids in identity's "
            "events; the same value as IDENTITY_LINK_SIGNING_SECRET. Outside development, without it "
            "verification e-mails cannot be composed and end `failed`"
        ),
    )
    secret_encryption_key: SecretStr | None = Field(
        None,
        description=(
            "Seals webhook signing secrets at rest (they must be read back to sign); required outside "
            "development. Changing it makes stored secrets unreadable: rotate every endpoint's secret after"
        ),
    )

    @field_validator("retry_schedule_seconds")
    @classmethod
    def _schedule_is_sane(cls, value: list[float]) -> list[float]:
        if not value or len(value) > 50 or any(v < 0 for v in value):
            raise ValueError("the retry schedule needs 1 to 50 non-negative delays")
        return value

    @model_validator(mode="after")
    def _encryption_key_outside_development(self) -> Settings:
        if self.secret_encryption_key is None and not self.is_development:
            raise ValueError("NOTIFICATIONS_SECRET_ENCRYPTION_KEY is required outside development")
        return self

    @property
    def platform_sender(self) -> tuple[str, str]:
        """The platform's name and address, from `mail_from` (the name defaults to the address)."""
        name, address = parseaddr(self.mail_from)
        return (name or address), address

    @property
    def link_secret(self) -> str | None:
        """The link signing secret; development and tests fall back to the fixed, public one identity
        uses there too. None elsewhere when unset."""
        if self.link_signing_secret is not None:
            return self.link_signing_secret.get_secret_value()
        return DEVELOPMENT_LINK_SECRET if self.is_development else None

    @cached_property
    def secret_sealer(self) -> Sealer:
        key = self.secret_encryption_key.get_secret_value() if self.secret_encryption_key else None
        return Sealer(key or "development-only-webhook-secret-key", purpose="notifications-webhook-secrets")

    @model_validator(mode="after")
    def _loopback_only_outside_production(self) -> Settings:
        # Loopback targets let a partner's webhook reach this host's own services (SSRF); the flag exists
        # for local development and tests only.
        if self.allow_loopback_endpoints and self.environment is Environment.PRODUCTION:
            raise ValueError("allow_loopback_endpoints is refused in the production environment")
        return self
