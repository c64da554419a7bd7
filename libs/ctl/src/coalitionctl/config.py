"""Where the platform is: the settings of coalitionctl (environment variables prefixed COALITIONCTL_).

The defaults point at `make run`'s development stack; set the variables (or the global options) for another
deployment. Commands that act inside one service's database (key rotation, the first admin, a projection
rebuild) build that service's own settings from its environment (IDENTITY_*, CAMPAIGNS_* ...), with the
MongoDB URL, database and Kafka brokers given here.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("identity", "coalition", "campaigns", "notifications")
DEV_PORTS = {"identity": 8001, "coalition": 8002, "campaigns": 8003, "notifications": 8004}


class CtlSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COALITIONCTL_", extra="ignore")

    mongodb_url: str = Field(
        "mongodb://127.0.0.1:27018/?replicaSet=rs0&directConnection=true",
        description="MongoDB that holds every service's database",
    )
    kafka_bootstrap_servers: str = Field("127.0.0.1:19092", description="Comma-separated Kafka brokers")
    identity_url: str = Field("http://127.0.0.1:8001", description="Base URL of the identity service")
    coalition_url: str = Field("http://127.0.0.1:8002", description="Base URL of the coalition service")
    campaigns_url: str = Field("http://127.0.0.1:8003", description="Base URL of the campaigns service")
    notifications_url: str = Field(
        "http://127.0.0.1:8004", description="Base URL of the notifications service"
    )
    identity_database: str = Field("identity", description="Database of the identity service")
    coalition_database: str = Field("coalition", description="Database of the coalition service")
    campaigns_database: str = Field("campaigns", description="Database of the campaigns service")
    notifications_database: str = Field("notifications", description="Database of the notifications service")
    timeout_seconds: float = Field(5.0, gt=0, description="How long to wait for one server to answer")

    def url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    def database(self, service: str) -> str:
        return str(getattr(self, f"{service}_database"))
