"""Human-facing text: the one rule, shared by every service, on the characters names and texts may hold.

A name, title, subject, description, letter or story is shown to other people (in the apps, in e-mails,
in exports, in logs). Invisible characters there are a spoofing tool: a right-to-left override (U+202E)
makes "Acme<U+202E>txt.exe" read as "Acmeexe.txt", a NUL byte truncates the text in C-based consumers, a
BEL or an escape sequence rings or recolours terminals, and a line separator breaks a one-line display.

Refused in every human-facing text (`ONE_LINE` and `MULTI_LINE`):

- every control character, Unicode category Cc: U+0000-U+001F, U+007F-U+009F (NUL, BEL, ESC, NEL, ...);
  a `MULTI_LINE` text alone accepts tab, line feed and carriage return (U+0009, U+000A, U+000D);
- the line and paragraph separators, categories Zl and Zp (U+2028, U+2029);
- every format character, category Cf: the bidirectional embeddings, overrides and isolates
  (U+202A-U+202E, U+2066-U+2069), the implicit marks (U+200E, U+200F, U+061C), zero-width space and
  word joiner (U+200B, U+2060), the byte-order mark (U+FEFF), the soft hyphen (U+00AD), the invisible
  tag characters (U+E0001, U+E0020-U+E007F, which also carry emoji subdivision flags), ...; except the
  zero-width non-joiner and joiner (U+200C, U+200D), which Persian, Indic scripts and emoji sequences need;
- surrogate code points, category Cs (a JSON `\\ud800` escape): they cannot be stored as UTF-8.

Accepted: everything else, including private-use and unassigned code points, combining marks, variation
selectors and emoji. Whitespace at either end is the business of each field's `StringConstraints`.

Use: put the marker after the field's own constraints, so the check sees the stripped value and the length
limits stay the field's own::

    Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]

A refused value fails validation with a ValueError naming the character, which the services answer with a
422 problem+json carrying the field's location.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: format characters that scripts and emoji sequences need
LINE_BREAKS = frozenset("\t\n\r")  # the control characters a multi-line text may hold
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)  # ALM, LRM, RLM, the embeddings and overrides (LRE RLE PDF LRO RLO), the isolates (LRI RLI FSI PDI)
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ALLOWED_IN_ONE_LINE = JOINERS
_ALLOWED_IN_MULTI_LINE = JOINERS | LINE_BREAKS


def refused_character(value: str, *, multi_line: bool) -> str | None:
    """The first character of `value` that a human-facing text must not hold, or None."""
    if value.isprintable():  # no Cc, Cf, Cs, Zl or Zp at all (nor Co, Cn or a space other than U+0020)
        return None
    allowed = _ALLOWED_IN_MULTI_LINE if multi_line else _ALLOWED_IN_ONE_LINE
    for char in value:
        if char not in allowed and unicodedata.category(char) in REFUSED_CATEGORIES:
            return char
    return None


def _kind(char: str) -> str:
    if char in LINE_BREAKS:
        return "a line break or tab"
    if char in BIDI_CONTROLS:
        return "a bidirectional formatting character"
    category = unicodedata.category(char)
    if category == "Cc":
        return "a control character"
    if category in ("Zl", "Zp"):
        return "a line or paragraph separator"
    if category == "Cs":
        return "a lone surrogate"
    return "an invisible formatting character"


def describe(char: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`, or `U+0007` for characters without a name."""
    name = unicodedata.name(char, "") if unicodedata.category(char) != "Cs" else ""
    return f"U+{ord(char):04X} {name}".rstrip()


def _check(value: str, *, multi_line: bool) -> str:
    char = refused_character(value, multi_line=multi_line)
    if char is None:
        return value
    if char in LINE_BREAKS:
        raise ValueError(f"contains {_kind(char)} ({describe(char)}); this field is a single line")
    raise ValueError(f"contains {_kind(char)} ({describe(char)})")


def one_line(value: str) -> str:
    """`value`, if it holds no control, separator or format character (joiners aside), line breaks included."""
    return _check(value, multi_line=False)


def multi_line(value: str) -> str:
    """`value`, if it holds no control, separator or format character but tab, line breaks and joiners."""
    return _check(value, multi_line=True)


ONE_LINE = AfterValidator(one_line)
"""Marker for a name, title, subject, label: no line breaks, no control or format characters."""

MULTI_LINE = AfterValidator(multi_line)
"""Marker for a free text (description, letter, story, reason): tab and line breaks allowed."""

OneLine = Annotated[str, ONE_LINE]
"""A one-line text with no constraint of its own (prefer adding the marker after `StringConstraints`)."""

MultiLine = Annotated[str, MULTI_LINE]
"""A multi-line text with no constraint of its own (prefer adding the marker after `StringConstraints`)."""

__all__ = [
    "MULTI_LINE",
    "ONE_LINE",
    "MultiLine",
    "OneLine",
    "describe",
    "multi_line",
    "one_line",
    "refused_character",
]
