"""Pure rules of e-mail composition (one-line headers whatever the names hold) and of the settings."""

from __future__ import annotations

import email
import email.policy
import uuid

import pytest
from pydantic import ValidationError

from common.sealing import SealBroken
from notifications.config import Settings
from notifications.domain.notices import one_line
from notifications.mailer import compose
from notifications.templates import Templates

# Every character str.splitlines() breaks a line at, found rather than listed, plus CR LF.
LINE_BREAKS = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1] + ["\r\n"]


@pytest.mark.parametrize(
    "line_break", LINE_BREAKS, ids=lambda c: f"U+{ord(c[0]):04X}{'+LF' if len(c) > 1 else ''}"
)
def test_one_line_replaces_every_line_break(line_break: str) -> None:
    assert one_line(f"Rare{line_break}Lung") == "Rare Lung"


@pytest.mark.parametrize(
    "line_break", LINE_BREAKS, ids=lambda c: f"U+{ord(c[0]):04X}{'+LF' if len(c) > 1 else ''}"
)
def test_an_email_composes_whatever_line_break_a_subject_or_display_name_holds(line_break: str) -> None:
    doc = {
        "_id": uuid.uuid4(),
        "to": f"Ada{line_break}Lovelace <ada@example.org>",
        "subject": f"Rare{line_break}Lung Alliance invites you{line_break}Bcc: victim@example.org",
        "category": "coalition_membership",
        "text": "Hello\n",
        "html": "<p>Hello</p>",
    }

    message = compose(doc, f"Coalition{line_break}Platform <notifications@example.org>")

    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert str(parsed["Subject"]) == "Rare Lung Alliance invites you Bcc: victim@example.org"
    assert parsed["To"].addresses[0].addr_spec == "ada@example.org"
    assert parsed["To"].addresses[0].display_name == "Ada Lovelace"
    assert parsed["From"].addresses[0].display_name == "Coalition Platform"
    assert parsed["Bcc"] is None


@pytest.mark.parametrize(
    "line_break", LINE_BREAKS, ids=lambda c: f"U+{ord(c[0]):04X}{'+LF' if len(c) > 1 else ''}"
)
def test_a_name_with_a_line_break_stays_in_the_subject_line(line_break: str) -> None:
    rendered = Templates("http://127.0.0.1:8004").render(
        "coalition_invited",
        {"org_name": f"Lung{line_break}Friends", "coalition_name": f"Rare{line_break}Lung", "role": "member"},
    )

    assert rendered.subject == "Lung Friends is invited to join the coalition Rare Lung"
    assert "Lung Friends is invited" in rendered.text


def test_an_address_that_is_no_address_does_not_compose() -> None:
    doc = {
        "_id": uuid.uuid4(),
        "to": "not-an-address",
        "subject": "s",
        "category": "c",
        "text": "",
        "html": "",
    }
    with pytest.raises(Exception):  # noqa: B017, PT011 - any failure; the mailer counts it as an attempt
        compose(doc, "notifications@example.org")


PRODUCTION_KEY = "a-long-random-key-for-sealing-webhook-secrets-0123456789"


def test_loopback_webhooks_are_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="allow_loopback_endpoints"):
        Settings(
            environment="production", allow_loopback_endpoints=True, secret_encryption_key=PRODUCTION_KEY
        )


@pytest.mark.parametrize("environment", ["development", "test"])
def test_loopback_webhooks_are_allowed_in_development_and_test(environment: str) -> None:
    assert Settings(environment=environment, allow_loopback_endpoints=True).allow_loopback_endpoints


def test_production_without_loopback_webhooks_starts() -> None:
    assert not Settings(
        environment="production", secret_encryption_key=PRODUCTION_KEY
    ).allow_loopback_endpoints


def test_production_refuses_to_start_without_a_key_to_seal_webhook_secrets() -> None:
    with pytest.raises(ValidationError, match="NOTIFICATIONS_SECRET_ENCRYPTION_KEY"):
        Settings(environment="production")


def test_webhook_secrets_are_sealed_and_open_only_with_the_same_key() -> None:
    sealer = Settings(environment="production", secret_encryption_key=PRODUCTION_KEY).secret_sealer
    sealed = sealer.seal("whsec_c2VjcmV0")
    assert "whsec_" not in sealed
    assert sealer.open(sealed) == "whsec_c2VjcmV0"
    other = Settings(environment="production", secret_encryption_key=PRODUCTION_KEY + "x").secret_sealer
    with pytest.raises(SealBroken):
        other.open(sealed)
