"""Pure rules: signing (checked against the reference library), patterns, retry timing, SSRF, entitlement."""

from __future__ import annotations

import ipaddress
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from notifications.domain.addresses import refusal, url_problem
from notifications.domain.entitlement import Access, EventScope, Standing, access, redact
from notifications.domain.webhooks import (
    matches,
    new_secret,
    next_attempt_after,
    retry_after_seconds,
    signature_header,
    valid_pattern,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_signature_verifies_with_the_reference_library() -> None:
    secret = new_secret()
    body = b'{"type":"x.y","timestamp":"2026-05-01T12:00:00Z","data":{}}'
    ts = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": signature_header([secret], msg_id="msg_1", timestamp=ts, body=body),
    }
    assert Webhook(secret).verify(body, headers) == {
        "type": "x.y",
        "timestamp": "2026-05-01T12:00:00Z",
        "data": {},
    }


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "campaigns.action.recorded", True),
        (["campaigns.*"], "campaigns.action.recorded", True),
        (["campaigns.action.*"], "campaigns.action.recorded", True),
        (["campaigns.action.recorded"], "campaigns.action.recorded", True),
        (["campaigns.*"], "coalition.membership.joined", False),
        (["campaigns.action"], "campaigns.action.recorded", False),
        (["campaign.*"], "campaigns.action.recorded", False),
    ],
)
def test_event_type_patterns(patterns: list[str], event_type: str, expected: bool) -> None:
    assert matches(patterns, event_type) is expected


@pytest.mark.parametrize("pattern", ["", "Campaigns.*", "campaigns.*.recorded", "*.*", "a..b", "a b"])
def test_malformed_patterns_are_refused(pattern: str) -> None:
    assert not valid_pattern(pattern)


def test_retry_after_wins_only_when_later_than_the_schedule() -> None:
    rng = random.Random(1)
    schedule = [0, 5, 300]
    later = next_attempt_after(schedule, 1, now=NOW, retry_after=60, retry_after_max=3600, jitter=0, rng=rng)
    sooner = next_attempt_after(schedule, 2, now=NOW, retry_after=60, retry_after_max=3600, jitter=0, rng=rng)
    assert later == NOW + timedelta(seconds=60)
    assert sooner == NOW + timedelta(seconds=300)
    assert (
        next_attempt_after(schedule, 3, now=NOW, retry_after=None, retry_after_max=1, jitter=0, rng=rng)
        is None
    )


def test_jitter_only_ever_delays_by_at_most_the_ratio() -> None:
    rng = random.Random(7)
    for _ in range(200):
        at = next_attempt_after(
            [0, 100], 1, now=NOW, retry_after=None, retry_after_max=1, jitter=0.1, rng=rng
        )
        assert at is not None
        assert NOW + timedelta(seconds=100) <= at <= NOW + timedelta(seconds=110)


def test_retry_after_as_http_date() -> None:
    assert retry_after_seconds("Fri, 01 May 2026 12:00:30 GMT", NOW) == 30
    assert retry_after_seconds("soon", NOW) is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "fd00:ec2::254",
        "fc00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:10.1.1.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
        "::",
        "224.0.0.1",
        "ff02::1",
        "100.64.0.1",
        "240.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_loopback=False) is not None


def test_loopback_only_when_allowed_and_public_addresses_pass() -> None:
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), allow_loopback=True) is not None
    assert refusal(ipaddress.ip_address("93.184.216.34"), allow_loopback=False) is None
    assert refusal(ipaddress.ip_address("2606:4700::1111"), allow_loopback=False) is None


def test_https_is_required_outside_development() -> None:
    assert url_problem("http://hooks.partner.org/x", require_https=True) is not None
    assert url_problem("https://hooks.partner.org/x", require_https=True) is None
    assert url_problem("http://hooks.partner.org/x", require_https=False) is None


ORG, OTHER, COALITION = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def _action_scope(contact_org: uuid.UUID | None, shared: bool) -> EventScope:
    return EventScope(
        "campaigns.action.recorded",
        frozenset({OTHER, contact_org or OTHER}),
        COALITION,
        uuid.uuid4(),
        contact_org=contact_org,
        contact_shared_with_coalition=shared,
    )


@pytest.mark.parametrize(
    ("standing", "shared", "expected"),
    [
        (Standing(coalition_role="lead"), False, Access.WITHOUT_CONTACT),
        (Standing(coalition_role="lead"), True, Access.FULL),
        (Standing(coalition_role="member"), True, Access.FULL),
        (Standing(coalition_role="observer"), True, Access.NONE),
        (Standing(adopted_campaign=True), True, Access.WITHOUT_CONTACT),
        (Standing(owns_campaign=True), False, Access.WITHOUT_CONTACT),
        (Standing(), True, Access.NONE),
    ],
)
def test_contact_entitlement_matrix(standing: Standing, shared: bool, expected: Access) -> None:
    assert access(_action_scope(OTHER, shared), ORG, standing) is expected


def test_the_consented_organization_gets_the_contact_and_others_a_redacted_copy() -> None:
    scope = _action_scope(ORG, False)
    assert access(scope, ORG, Standing()) is Access.FULL
    data = {"contact": {"email": "a@b.c"}, "supporter_id": "s"}
    assert redact(data, Access.WITHOUT_CONTACT) == {"contact": None, "supporter_id": "s"}
    assert redact(data, Access.FULL) == data


def test_observers_get_only_public_kinds() -> None:
    public = EventScope("campaigns.campaign.launched", frozenset({OTHER}), COALITION, None)
    private = EventScope("coalition.membership.suspended", frozenset({OTHER}), COALITION, None)
    observer = Standing(coalition_role="observer")
    assert access(public, ORG, observer) is Access.FULL
    assert access(private, ORG, observer) is Access.NONE
    assert access(private, ORG, Standing(coalition_role="member")) is Access.FULL
