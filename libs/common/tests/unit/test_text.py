"""The rule on human-facing text (common.text): which characters a name or a free text refuses."""

from __future__ import annotations

import sys
import unicodedata
from typing import Annotated

import pytest
from pydantic import BaseModel, StringConstraints, ValidationError

from common.text import MULTI_LINE, ONE_LINE, MultiLine, OneLine, multi_line, one_line, refused_character

BIDI = [
    "\u202a",  # LEFT-TO-RIGHT EMBEDDING
    "\u202b",  # RIGHT-TO-LEFT EMBEDDING
    "\u202c",  # POP DIRECTIONAL FORMATTING
    "\u202d",  # LEFT-TO-RIGHT OVERRIDE
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u2067",  # RIGHT-TO-LEFT ISOLATE
    "\u2068",  # FIRST STRONG ISOLATE
    "\u2069",  # POP DIRECTIONAL ISOLATE
    "\u061c",  # ARABIC LETTER MARK
    "\u200e",  # LEFT-TO-RIGHT MARK
    "\u200f",  # RIGHT-TO-LEFT MARK
]
CONTROLS = ["\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9b"]
SEPARATORS = ["\u2028", "\u2029"]
INVISIBLE = ["\u200b", "\u2060", "\ufeff", "\u00ad", "\U000e0001", "\U000e0041"]
REFUSED_EVERYWHERE = BIDI + CONTROLS + SEPARATORS + INVISIBLE + ["\ud800"]
LINE_BREAKS = ["\n", "\r", "\t"]

ACCEPTED = [
    "Acme Health Alliance",
    "Zoë Çelik-Ørsted",
    "Łódź, Kraków & Gdańsk",
    "מרכז בריאות",  # Hebrew: right-to-left by itself, no override needed
    "جمعية مرضى السكري",  # Arabic
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian ("I want") with a zero-width non-joiner
    "क्\u200dष",  # Devanagari with a zero-width joiner
    "\U0001f469\u200d\u2695\ufe0f health workers",  # an emoji ZWJ sequence with a variation selector
    "日本語の名前",
    "a\u00a0b\u3000c",  # no-break and ideographic spaces (Zs)
    "e\u0301",  # a combining accent
    "\ue000",  # private use
]


class Names(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), ONE_LINE]
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), MULTI_LINE] = ""
    bare: OneLine = ""
    free: MultiLine = ""


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE, ids=lambda c: f"U+{ord(c):04X}")
def test_control_separator_format_and_surrogate_characters_are_refused_everywhere(char: str) -> None:
    for check in (one_line, multi_line):
        with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}"):
            check(f"A{char}B")
        with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}"):
            check(char)


@pytest.mark.parametrize("char", LINE_BREAKS, ids=lambda c: f"U+{ord(c):04X}")
def test_line_breaks_and_tabs_only_in_multi_line_texts(char: str) -> None:
    assert multi_line(f"first{char}second") == f"first{char}second"
    with pytest.raises(
        ValueError, match=r"^contains a line break or tab \(U\+00(09|0A|0D)\); this field is a single line$"
    ):
        one_line(f"first{char}second")


@pytest.mark.parametrize("value", ACCEPTED)
def test_names_in_any_script_are_accepted(value: str) -> None:
    assert one_line(value) == value
    assert multi_line(value) == value


def test_the_whole_of_unicode_is_sorted_by_category() -> None:
    """Every code point: refused exactly when it is Cc, Cf, Cs, Zl or Zp, joiners (and breaks) aside."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        refused = unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"} and char not in "\u200c\u200d"
        assert (refused_character(char, multi_line=False) is not None) == refused, hex(code)
        assert (refused_character(char, multi_line=True) is not None) == (refused and char not in "\t\n\r")


def test_the_error_names_the_character() -> None:
    with pytest.raises(ValueError, match=r"^contains a bidirectional formatting character") as info:
        one_line("invoice\u202efdp.exe")
    assert str(info.value) == (
        "contains a bidirectional formatting character (U+202E RIGHT-TO-LEFT OVERRIDE)"
    )
    with pytest.raises(ValueError, match=r"^contains a control character \(U\+0000\)$"):
        multi_line("A\x00B")
    with pytest.raises(ValueError, match=r"^contains a control character \(U\+0007\)$"):
        one_line("A\x07B")
    with pytest.raises(
        ValueError, match=r"^contains a line or paragraph separator \(U\+2028 LINE SEPARATOR\)$"
    ):
        multi_line("A\u2028B")


def test_the_markers_compose_with_the_fields_own_constraints() -> None:
    assert Names(name="  Acme  ").name == "Acme"  # stripped by the field's constraints, then checked
    assert Names(name="x", text="line one\nline two").text == "line one\nline two"
    for bad in ({"name": "A\u202eB"}, {"name": "A\nB"}, {"name": "x", "text": "A\x00B"}):
        with pytest.raises(ValidationError) as info:
            Names.model_validate(bad)
        [error] = info.value.errors()
        assert error["type"] == "value_error"
        assert error["loc"] == (next(reversed(bad)),)
        assert "U+" in error["msg"]
    for limit in ({"name": ""}, {"name": "x" * 21}, {"name": "x", "text": "y" * 51}):
        with pytest.raises(ValidationError, match="string_too"):
            Names.model_validate(limit)
    for field in ("bare", "free"):
        with pytest.raises(ValidationError) as info:
            Names.model_validate({"name": "x", field: "A\u2066B"})
        assert info.value.errors()[0]["loc"] == (field,)
