"""Settings refuse placeholder secrets outside development."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from common.settings import ServiceSettings


class WithSecret(ServiceSettings):
    api_secret: SecretStr = SecretStr("change-me")


@pytest.mark.parametrize(
    "value",
    [
        "change-me",
        "changeme-please-now",
        "secret",
        "short",
        "password123456789",
        "placeholder-value-xx",
        "example-secret-value",
    ],
)
def test_placeholder_secrets_are_refused_in_production(value: str) -> None:
    with pytest.raises(ValidationError, match="api_secret"):
        WithSecret(environment="production", api_secret=SecretStr(value))


def test_a_real_secret_is_accepted_in_production() -> None:
    settings = WithSecret(environment="production", api_secret=SecretStr("q8Vt2-r6dWk1Lp9xZm4Ns7Jb"))

    assert settings.api_secret.get_secret_value() == "q8Vt2-r6dWk1Lp9xZm4Ns7Jb"


def test_placeholders_are_tolerated_in_development() -> None:
    assert WithSecret(environment="development").api_secret.get_secret_value() == "change-me"
