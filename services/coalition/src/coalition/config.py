"""Settings of the coalition service (environment variables prefixed COALITION_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import AuthSettings, KafkaSettings, MongoSettings, ServiceSettings, TelemetrySettings

SERVICE = "coalition"


class Settings(ServiceSettings, MongoSettings, KafkaSettings, AuthSettings, TelemetrySettings):
    model_config = SettingsConfigDict(env_prefix="COALITION_", extra="ignore")

    port: int = Field(8002, ge=1, le=65535, description="Port the HTTP API listens on")
    invitation_ttl_days: int = Field(14, ge=1, le=90, description="How long an organization has to accept")
    expiry_sweep_seconds: float = Field(
        60.0, gt=0, description="How often the worker expires old invitations"
    )
