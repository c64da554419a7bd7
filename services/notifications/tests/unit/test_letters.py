"""Mail to decision-makers and meeting invitations, composed without servers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from notifications.domain.letters import Meeting, address, compose_letter, language, meeting_ics

PLATFORM = ("Coalition Platform", "notifications@coalition-platform.dev")
WHEN = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _unit(**changes: object) -> dict[str, object]:
    unit: dict[str, object] = {
        "item_id": uuid.uuid4(),
        "target": {"target_id": uuid.uuid4(), "name": "Senator Roe", "email": "roe@parliament.example"},
        "from_name": "Ana Lima",
        "reply_to": None,
        "subject": "Clinic hours",
        "body": "Dear Senator,\n\nPlease.\n",
        "language": "pt-BR",
    }
    unit.update(changes)
    return unit


def test_a_name_with_line_breaks_cannot_add_a_header() -> None:
    message = compose_letter(_unit(from_name="Ana\r\nBcc: everyone@example.org"), PLATFORM, WHEN)

    assert message["Bcc"] is None
    assert message["From"].addresses[0].display_name == "Ana Bcc: everyone@example.org via Coalition Platform"
    assert message["Reply-To"] is None
    assert message["Content-Language"] == "pt"


def test_the_message_id_is_the_same_for_the_same_letter_and_target() -> None:
    unit = _unit(reply_to="ana@example.org")

    first, again = compose_letter(unit, PLATFORM, WHEN), compose_letter(unit, PLATFORM, WHEN)

    assert first["Message-ID"] == again["Message-ID"]
    assert first["Reply-To"].addresses[0].addr_spec == "ana@example.org"


@pytest.mark.parametrize("bad", ["no-domain", "", "two@a.example, three@b.example"])
def test_what_is_not_one_address_is_refused(bad: str) -> None:
    with pytest.raises((ValueError, IndexError)):
        str(address("Nobody", bad))


def test_unsupported_languages_fall_back_to_english() -> None:
    assert [language(v) for v in ("de", "fr_CA", "ko", None, "ES")] == ["de", "fr", "en", "en", "es"]


def test_a_calendar_invitation_is_folded_and_escaped() -> None:
    meeting = Meeting(
        meeting_id=uuid.uuid4(),
        title="Meeting with the Health committee, room 4; bring the petition " * 3,
        starts_at=WHEN,
        ends_at=None,
        place="Parliament, room 4.12",
        link=None,
        description="With Jane Roe.",
    )

    ics = meeting_ics(meeting, PLATFORM, WHEN).decode()

    lines = ics.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "LOCATION:Parliament\\, room 4.12" in lines
    assert "DTSTART:20261202T090000Z" in lines
    unfolded = ics.replace("\r\n ", "")
    assert "room 4\\; bring the petition" in unfolded
