"""Decision-makers' rules without servers: which postal codes a target covers, and how a directory CSV
is read (every error of every row, nothing half-read)."""

from __future__ import annotations

import pytest

from campaigns.domain.targets import MAX_IMPORT_ROWS, TargetFields, covers, parse_csv
from campaigns.usecases.petitions import region_of

HEADER = "name,level,email,country,postal_codes\r\n"


@pytest.mark.parametrize(
    ("patterns", "code", "covered"),
    [
        (["1000"], "1000", True),
        (["1000"], "1001", False),
        (["10*"], "1050", True),
        (["10*"], "1150", False),
        (["*"], "9999", True),
        (["1011AB"], "1011 ab", True),  # compared upper-case, without spaces
        (["SW1A*"], "sw1a 1aa", True),
        ([], "1000", False),
    ],
)
def test_a_target_covers_exact_codes_prefixes_and_whole_countries(
    patterns: list[str], code: str, covered: bool
) -> None:
    assert covers(patterns, code) is covered


def test_a_target_represents_only_its_own_country() -> None:
    target = TargetFields.model_validate(
        {
            "name": "Nina",
            "level": "national",
            "email": "nina@parliament.example",
            "country": "BE",
            "postal_codes": ["*"],
        }
    )

    assert target.represents("BE", "1000")
    assert not target.represents("NL", "1000")


def test_postal_codes_are_normalised_and_deduplicated() -> None:
    target = TargetFields.model_validate(
        {
            "name": "Lea",
            "level": "local",
            "email": "lea@council.example",
            "country": "BE",
            "postal_codes": ["1000", " 1000 ", "10 20", "ab-1*"],
        }
    )

    assert target.postal_codes == ["1000", "1020", "AB1*"]


def test_a_valid_csv_gives_every_row() -> None:
    rows, errors = parse_csv(
        "\ufeff"
        + HEADER
        + "Lea,LOCAL,lea@council.example,be,1000;1020\r\n\r\nNina,national,nina@p.example,BE,*\r\n"
    )

    assert errors == []
    assert [(r.row, r.fields.name, r.fields.level.value, r.fields.country) for r in rows] == [
        (2, "Lea", "local", "BE"),
        (4, "Nina", "national", "BE"),
    ]
    assert rows[0].fields.postal_codes == ["1000", "1020"]


def test_every_error_of_every_row_is_reported_and_no_row_is_returned() -> None:
    rows, errors = parse_csv(
        HEADER
        + "Lea,local,lea@council.example,BE,1000\r\n"
        + "Bad,mayor,not-mail,BE,1000\r\n"
        + "Short,local\r\n"
        + ",local,x@y.example,BEL,1000\r\n"
    )

    assert rows == []
    assert [(e.row, e.field) for e in errors] == [
        (3, "level"),
        (3, "email"),
        (4, "row"),
        (5, "name"),
        (5, "country"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [(1, "header")]),
        ("name,level,email\r\n", [(1, "country"), (2, "csv")]),
        ("name,level,email,country,colour\r\nA,local,a@b.example,BE,red\r\n", [(1, "colour")]),
        ("name,name,level,email,country\r\nA,A,local,a@b.example,BE\r\n", [(1, "header")]),
    ],
)
def test_a_bad_header_is_reported_on_row_one(text: str, expected: list[tuple[int, str]]) -> None:
    rows, errors = parse_csv(text)

    assert rows == []
    assert [(e.row, e.field) for e in errors] == expected


def test_a_file_longer_than_the_limit_is_refused_whole() -> None:
    body = "".join(f"T{i},local,t{i}@council.example,BE,1000\r\n" for i in range(MAX_IMPORT_ROWS + 1))

    rows, errors = parse_csv(HEADER + body)

    assert rows == []
    assert [e.field for e in errors] == ["csv"]


@pytest.mark.parametrize(
    ("country", "postal_code", "region"),
    [("BE", "1000", "BE 10*"), ("NL", "1011 ab", "NL 10*"), ("PT", None, "PT"), (None, None, "unknown")],
)
def test_a_signature_counts_for_its_country_and_postal_code_prefix(
    country: str | None, postal_code: str | None, region: str
) -> None:
    assert region_of(country, postal_code) == region
