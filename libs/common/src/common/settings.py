"""Settings mixins that each service's one Settings class is built from."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "secret", "password", "example")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def is_placeholder(value: str) -> bool:
    """A secret that was obviously never set by an operator."""
    lowered = value.strip().lower()
    return len(lowered) < 16 or any(lowered == m or lowered.startswith(m) for m in PLACEHOLDER_MARKERS)


class ServiceSettings(BaseSettings):
    """What every service needs to know about where and how it runs."""

    environment: Environment = Field(
        Environment.PRODUCTION,
        description="development, test or production; development and test relax secret checks",
    )
    deployment_id: str = Field(
        "local",
        description="Names this deployment in CloudEvents sources: urn:<deployment-id>:<service>",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP API binds to")
    port: int = Field(8000, ge=1, le=65535, description="Port the HTTP API listens on")
    log_level: str = Field("INFO", description="Python log level name")
    public_url: str | None = Field(
        None,
        description="Base URL at which clients reach this service (defaults to http://host:port)",
    )
    http_max_header_count: int = Field(
        100, ge=10, le=10_000, description="Header fields one request may carry; more are refused with 431"
    )
    http_max_header_bytes: int = Field(
        16_384,
        ge=4_096,
        le=1_048_576,
        description=(
            "Bytes of request line and header fields one request may carry; more are refused with 431, "
            "and the HTTP parser stops buffering (400, connection closed) at twice this"
        ),
    )

    http_max_in_flight: int = Field(
        64,
        ge=1,
        le=10_000,
        description=(
            "Requests one process works on at once; more wait their turn (see http_queue_seconds). Past "
            "the process's capacity more concurrency only adds latency"
        ),
    )
    http_queue_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="The longest a request waits for its turn; past it the answer is 503 with Retry-After",
    )

    @property
    def is_development(self) -> bool:
        return self.environment in (Environment.DEVELOPMENT, Environment.TEST)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def secret_fields(self) -> dict[str, SecretStr]:
        """Every SecretStr field of the settings, by name."""
        return {
            name: value
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr)
        }

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Any:
        if self.is_development:
            return self
        weak = [
            name for name, value in self.secret_fields().items() if is_placeholder(value.get_secret_value())
        ]
        if weak:
            raise ValueError(
                f"placeholder or too-short secrets are refused outside development: {', '.join(sorted(weak))}"
            )
        return self


class MongoSettings(BaseSettings):
    mongodb_url: str = Field(
        "mongodb://127.0.0.1:27018/?replicaSet=rs0&directConnection=true",
        description="MongoDB connection string; a replica set is required (transactions, change streams)",
    )
    mongodb_database: str = Field("", description="Database name (defaults to the service name)")
    mongodb_request_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=120,
        description=(
            "The most time one HTTP request may spend on MongoDB (server selection, connections, queries, "
            "transaction retries); past it the request answers 503 with Retry-After. Background work "
            "(outbox relay, change streams, consumers) is not bounded by it"
        ),
    )


class KafkaSettings(BaseSettings):
    kafka_bootstrap_servers: str = Field("127.0.0.1:19092", description="Comma-separated Kafka brokers")
    kafka_consumer_max_attempts: int = Field(
        3, ge=1, le=20, description="Attempts at one event before it goes to the dead-letter topic"
    )
    outbox_poll_interval_seconds: float = Field(
        1.0,
        gt=0,
        description="Fallback polling interval of the outbox relay (a change stream wakes it sooner)",
    )


class AuthSettings(BaseSettings):
    auth_issuer: str = Field("http://127.0.0.1:8001", description="Expected `iss` of access tokens")
    auth_audience: str = Field("coalition-platform", description="Expected `aud` of access tokens")
    auth_jwks_url: str = Field(
        "http://127.0.0.1:8001/.well-known/jwks.json",
        description="Where the identity service publishes its keys",
    )
    auth_jwks_cache_seconds: int = Field(
        300, ge=0, description="How long fetched keys are trusted before a refresh"
    )
    auth_leeway_seconds: int = Field(30, ge=0, le=300, description="Clock skew tolerated on exp/nbf/iat")


class TelemetrySettings(BaseSettings):
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="OTLP/HTTP endpoint for traces; unset means spans are not exported",
    )
    otel_traces_console: bool = Field(False, description="Also print spans to stdout (debugging)")
