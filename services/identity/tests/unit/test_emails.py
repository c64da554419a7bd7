"""Canonical e-mail addresses: variants of one mailbox fold together, look-alikes of another are refused."""

from __future__ import annotations

import pytest

from common.errors import InvalidInput
from identity.domain.emails import canonical_email, sign_in_name

CYRILLIC_A, CYRILLIC_ER, CYRILLIC_U = "\u0430", "\u0440", "\u0443"
GREEK_OMICRON, DOTLESS_I, ZERO_WIDTH_SPACE = "\u03bf", "\u0131", "\u200b"


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("Maria@Example.ORG", "maria@example.org"),
        ("  maria@example.org ", "maria@example.org"),
        (
            "\uff4d\uff41\uff52\uff49\uff41@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org",
            "maria@example.org",
        ),
        ("MARIA@EXAMPLE.ORG", "maria@example.org"),
        ("\u00c9milie@example.org", "\u00e9milie@example.org"),
        ("Stra\u00dfe@example.org", "strasse@example.org"),
        ("\ufb01nance@example.org", "finance@example.org"),  # the fi ligature
        ("maria@B\u00fccher.DE", "maria@xn--bcher-kva.de"),
        ("maria@xn--bcher-kva.de", "maria@xn--bcher-kva.de"),
    ],
)
def test_variants_of_one_address_fold_to_one_canonical_form(variant: str, canonical: str) -> None:
    assert canonical_email(variant) == canonical


@pytest.mark.parametrize(
    "address",
    [
        "jos\u00e9@example.org",
        "\u0438\u0432\u0430\u043d@\u043f\u043e\u0447\u0442\u0430.\u0440\u0444",  # Cyrillic throughout
        "\u7528\u6237@\u4f8b\u5b50.\u4e2d\u56fd",  # Chinese throughout
        "tanaka\u3055\u3093@example.jp",  # Latin with Hiragana (UTS 39 highly restrictive)
        "o'brien+news@example.org",
    ],
)
def test_genuine_international_addresses_are_accepted(address: str) -> None:
    assert canonical_email(address)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        (f"p{CYRILLIC_A}ypal@example.org", "mixes scripts"),  # one Cyrillic letter among Latin ones
        (f"g{GREEK_OMICRON}ogle@example.org", "mixes scripts"),  # a Greek omicron
        (f"{CYRILLIC_ER}{CYRILLIC_A}{CYRILLIC_U}{CYRILLIC_ER}{CYRILLIC_A}1@example.org", "imitates"),
        (f"adm{DOTLESS_I}n@example.org", "imitates"),
        (f"maria@ex{CYRILLIC_A}mple.org", "mixes scripts"),  # IDN look-alike domain
        ("maria@xn--exmple-4nf.org", "mixes scripts"),  # the same, written as its A-label
        (f"maria@{CYRILLIC_A}{CYRILLIC_ER}{CYRILLIC_ER}\u04cf\u0435.com", "imitates"),  # "apple" in Cyrillic
        (f"ma{ZERO_WIDTH_SPACE}ria@example.org", "invisible"),
        ("maria@exa_mple..org", "not a valid domain"),
        ("no-at-sign.example.org", "local part and a domain"),
    ],
)
def test_lookalike_and_broken_addresses_are_refused(address: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        canonical_email(address)


def test_sign_in_never_fails_on_what_it_cannot_canonicalise() -> None:
    assert sign_in_name("\uff2d\uff41\uff52\uff49\uff41@example.org") == "maria@example.org"
    assert sign_in_name("Not An Address") == "not an address"
