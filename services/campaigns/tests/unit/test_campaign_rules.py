"""Pure rules of the campaigns domain: the lifecycle table, schedules, milestones, supporters' keys and names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from campaigns.domain.campaigns import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Goal,
    GoalMetric,
    Transition,
    milestones_crossed,
    next_status,
)
from campaigns.domain.supporters import NameForm, SupporterKeys, display_name, normalise_email
from common.errors import Conflict, Unauthenticated

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
S = CampaignStatus
T = Transition

# Every (status, transition) pair: the status it leads to, or None when it is refused.
TABLE: dict[tuple[CampaignStatus, Transition], CampaignStatus | None] = {
    (S.DRAFT, T.LAUNCH): S.ACTIVE,
    (S.DRAFT, T.PAUSE): None,
    (S.DRAFT, T.RESUME): None,
    (S.DRAFT, T.CLOSE): None,
    (S.DRAFT, T.ARCHIVE): S.ARCHIVED,
    (S.ACTIVE, T.LAUNCH): None,
    (S.ACTIVE, T.PAUSE): S.PAUSED,
    (S.ACTIVE, T.RESUME): None,
    (S.ACTIVE, T.CLOSE): S.CLOSED,
    (S.ACTIVE, T.ARCHIVE): None,
    (S.PAUSED, T.LAUNCH): None,
    (S.PAUSED, T.PAUSE): None,
    (S.PAUSED, T.RESUME): S.ACTIVE,
    (S.PAUSED, T.CLOSE): S.CLOSED,
    (S.PAUSED, T.ARCHIVE): None,
    (S.CLOSED, T.LAUNCH): None,
    (S.CLOSED, T.PAUSE): None,
    (S.CLOSED, T.RESUME): None,
    (S.CLOSED, T.CLOSE): None,
    (S.CLOSED, T.ARCHIVE): S.ARCHIVED,
    (S.ARCHIVED, T.LAUNCH): None,
    (S.ARCHIVED, T.PAUSE): None,
    (S.ARCHIVED, T.RESUME): None,
    (S.ARCHIVED, T.CLOSE): None,
    (S.ARCHIVED, T.ARCHIVE): None,
}


def test_the_table_covers_every_status_and_transition() -> None:
    assert set(TABLE) == {(s, t) for s in CampaignStatus for t in Transition}


@pytest.mark.parametrize(("current", "transition"), list(TABLE))
def test_transitions(current: CampaignStatus, transition: Transition) -> None:
    expected = TABLE[(current, transition)]
    if expected is None:
        with pytest.raises(Conflict) as refused:
            next_status(current, transition)
        assert refused.value.status == 409
        assert current.value in refused.value.detail
    else:
        assert next_status(current, transition) is expected


def goal(target: int, metric: GoalMetric = GoalMetric.ACTIONS) -> Goal:
    kind = "signature" if metric is GoalMetric.ACTIONS else None
    return Goal.model_validate(
        {"metric": metric, "action_kind": kind, "target": target, "deadline": NOW + timedelta(days=30)}
    )


@pytest.mark.parametrize(
    ("target", "value", "reached", "expected"),
    [
        (100, 0, set(), []),
        (100, 24, set(), []),
        (100, 25, set(), [25]),
        (100, 49, {25}, []),
        (100, 50, {25}, [50]),
        (100, 100, set(), [25, 50, 75, 100]),
        (100, 150, {25, 50, 75, 100}, []),
        (100, 80, {25}, [50, 75]),
        (3, 1, set(), [25]),  # 33%
        (3, 2, {25}, [50]),  # 67%
        (3, 3, {25, 50}, [75, 100]),
        (4, 1, set(), [25]),  # exactly 25%
        (7, 5, {25, 50}, []),  # 71%: not yet 75
        (7, 6, {25, 50}, [75]),
    ],
)
def test_milestones_crossed(target: int, value: int, reached: set[int], expected: list[int]) -> None:
    assert milestones_crossed(goal(target), value, reached) == expected


def test_goal_values_per_metric() -> None:
    counts = {"signature": 7, "checkin": 3, "rsvp": 9}
    assert goal(10).value(counts, 5) == 7
    assert goal(10, GoalMetric.UNIQUE_SUPPORTERS).value(counts, 5) == 5
    assert goal(10, GoalMetric.ATTENDANCE).value(counts, 5) == 3
    assert goal(3).percent(1) == 33.33


def campaign(status: CampaignStatus, launch_at: datetime | None, close_at: datetime | None) -> Campaign:
    data: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": CampaignKind.PETITION,
        "title": "t",
        "summary": "s",
        "details": {},
        "goal": goal(10),
        "owner_org_id": uuid.uuid4(),
        "status": status,
        "launch_at": launch_at,
        "close_at": close_at,
        "consent_texts": {},
        "created_by": "u",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Campaign.model_validate(data)


BEFORE, AFTER = NOW - timedelta(seconds=1), NOW + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("status", "launch_at", "close_at", "expected"),
    [
        (S.DRAFT, None, None, None),
        (S.DRAFT, AFTER, None, None),
        (S.DRAFT, BEFORE, None, T.LAUNCH),
        (S.DRAFT, NOW, None, T.LAUNCH),
        (S.DRAFT, BEFORE, AFTER, T.LAUNCH),
        (S.DRAFT, BEFORE - timedelta(hours=1), BEFORE, None),  # its whole window passed as a draft
        (S.DRAFT, None, BEFORE, None),
        (S.ACTIVE, None, AFTER, None),
        (S.ACTIVE, None, BEFORE, T.CLOSE),
        (S.ACTIVE, BEFORE, NOW, T.CLOSE),
        (S.PAUSED, None, BEFORE, T.CLOSE),
        (S.CLOSED, BEFORE, BEFORE, None),
        (S.ARCHIVED, BEFORE, BEFORE, None),
    ],
)
def test_due_transition(
    status: CampaignStatus,
    launch_at: datetime | None,
    close_at: datetime | None,
    expected: Transition | None,
) -> None:
    assert campaign(status, launch_at, close_at).due_transition(NOW) is expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Sam.Doe@Example.NET", "sam.doe@example.net"),
        ("  sam@example.net \t", "sam@example.net"),
        ("sam@example.net.", "sam@example.net"),
        ("\uff53\uff41\uff4d@example.net", "sam@example.net"),  # full-width letters (NFKC)
    ],
)
def test_normalise_email(given: str, expected: str) -> None:
    assert normalise_email(given) == expected


def test_email_keys_match_spellings_per_campaign_only() -> None:
    keys = SupporterKeys(b"secret")
    one, two = uuid.uuid4(), uuid.uuid4()
    assert keys.email_key(one, " Sam@Example.net") == keys.email_key(one, "sam@example.net")
    assert keys.email_key(one, "sam@example.net") != keys.email_key(two, "sam@example.net")
    assert keys.email_key(one, "sam@example.net") != SupporterKeys(b"other").email_key(one, "sam@example.net")
    assert "sam" not in keys.email_key(one, "sam@example.net")


def test_supporter_tokens_verify_and_refuse_forgeries() -> None:
    keys = SupporterKeys(b"secret")
    supporter = uuid.uuid4()
    token = keys.token(supporter)
    assert token.startswith(supporter.hex + ".")
    assert keys.supporter_of(token) == supporter
    other = uuid.uuid4()
    forged = f"{other.hex}.{token.partition('.')[2]}"
    for bad in (
        forged,
        SupporterKeys(b"other-secret").token(supporter),
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        "not-a-token",
        supporter.hex,
        "",
    ):
        with pytest.raises(Unauthenticated):
            keys.supporter_of(bad)


@pytest.mark.parametrize(
    ("form", "first", "last", "expected"),
    [
        (NameForm.FULL, "Ada", "Lovelace", "Ada Lovelace"),
        (NameForm.FULL, "Ada", None, "Ada"),
        (NameForm.FIRST_NAME, "Ada", "Lovelace", "Ada"),
        (NameForm.ANONYMOUS, "Ada", "Lovelace", "Anonymous"),
        (NameForm.FULL, None, None, "Anonymous"),
        (NameForm.FIRST_NAME, None, "Lovelace", "Anonymous"),
    ],
)
def test_display_name(form: NameForm, first: str | None, last: str | None, expected: str) -> None:
    assert display_name(form, first, last) == expected
