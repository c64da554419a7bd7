"""Settings of the identity service (environment variables prefixed IDENTITY_)."""

from __future__ import annotations

from pydantic import EmailStr, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from common.links import DEVELOPMENT_LINK_SECRET
from common.settings import KafkaSettings, MongoSettings, ServiceSettings, TelemetrySettings

SERVICE = "identity"


class Settings(ServiceSettings, MongoSettings, KafkaSettings, TelemetrySettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    port: int = Field(8001, ge=1, le=65535, description="Port the HTTP API listens on")
    issuer: str | None = Field(None, description="`iss` of issued tokens (defaults to the public base URL)")
    audience: str = Field("coalition-platform", description="`aud` of issued access tokens")
    public_client_id: str = Field(
        "coalition-platform",
        min_length=1,
        description="client_id of the platform's own apps: a public client (no secret) that signs users in "
        "with the password grant; the `client_id` of users' access tokens",
    )
    access_token_ttl_seconds: int = Field(600, ge=60, le=3600, description="Lifetime of access tokens")
    refresh_token_ttl_days: int = Field(30, ge=1, le=365, description="Lifetime of refresh tokens")
    invitation_ttl_hours: int = Field(
        168, ge=1, le=24 * 30, description="How long an invitation can be accepted"
    )
    email_verification_ttl_hours: int = Field(
        48, ge=1, le=24 * 14, description="How long an e-mail verification link can be used"
    )
    require_verified_email: bool = Field(
        True,
        description="Only users who verified their e-mail address may be given roles in an organization: "
        "accept invitations or register a new organization (and own it)",
    )
    link_signing_secret: SecretStr | None = Field(
        None,
        description="Derives the tokens of e-mailed links (e-mail verification) from their ids; the same "
        "value as NOTIFICATIONS_LINK_SIGNING_SECRET, which mails them. Required outside development",
    )
    key_rotation_days: int = Field(
        30, ge=1, description="A signing key older than this is rotated at start-up"
    )
    key_encryption_secret: SecretStr | None = Field(
        None, description="Encrypts the private signing keys at rest; required outside development"
    )
    bootstrap_admin_email: EmailStr | None = Field(
        None, description="E-mail of the first platform admin, created at start-up if missing"
    )
    bootstrap_admin_password: SecretStr | None = Field(
        None, description="Password of the first platform admin (only used when it is created)"
    )
    login_free_failures: int = Field(
        5,
        ge=1,
        description="Failed sign-ins to one account from one client address before that pair is locked",
    )
    login_base_lockout_seconds: int = Field(
        30, ge=1, description="First lock of an (account, address) pair; it doubles with each further failure"
    )
    login_max_lockout_seconds: int = Field(
        900, ge=1, description="Longest lock of an (account, address) pair"
    )
    login_account_ceiling: int = Field(
        100,
        ge=1,
        description="Sign-in attempts one account may see from all addresses together per window "
        "(against guessing distributed over many addresses)",
    )
    login_account_window_seconds: int = Field(900, ge=1, description="The window of the per-account ceiling")
    trust_forwarded_for: bool = Field(
        False,
        description="Take the client address from X-Forwarded-For (only behind a proxy that sets it)",
    )
    argon2_time_cost: int = Field(3, ge=1, description="argon2id iterations")
    argon2_memory_kib: int = Field(65536, ge=8192, description="argon2id memory in KiB")

    @model_validator(mode="after")
    def _require_key_encryption_secret(self) -> Settings:
        if self.key_encryption_secret is None and not self.is_development:
            raise ValueError("IDENTITY_KEY_ENCRYPTION_SECRET is required outside development")
        return self

    @model_validator(mode="after")
    def _require_link_signing_secret(self) -> Settings:
        if self.link_signing_secret is None and not self.is_development:
            raise ValueError("IDENTITY_LINK_SIGNING_SECRET is required outside development")
        return self

    @property
    def link_secret(self) -> str:
        """The link signing secret; development and tests fall back to a fixed, public one."""
        if self.link_signing_secret is None:
            return DEVELOPMENT_LINK_SECRET
        return self.link_signing_secret.get_secret_value()

    @property
    def signing_key_secret(self) -> str:
        """The key-encryption secret; development and tests fall back to a fixed, public one."""
        if self.key_encryption_secret is None:
            return "development-only-key-encryption-secret"
        return self.key_encryption_secret.get_secret_value()

    @property
    def token_issuer(self) -> str:
        return (self.issuer or self.base_url).rstrip("/")
