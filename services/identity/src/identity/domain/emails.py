"""E-mail addresses: one canonical form per mailbox, and no address made to look like another.

Compatibility forms (fullwidth letters, ligatures) and case are folded (NFKC, casefold), so they name
the same user. The domain is processed by IDNA 2008 with UTS 46 mapping and kept as A-labels. What
exists only to imitate another address is refused: a local part or domain label that mixes scripts
(Latin with Cyrillic or Greek; UTS 39 "highly restrictive" allows Latin with Han and Japanese or
Korean), one written entirely in non-ASCII letters that imitate ASCII ones (whole-script look-alikes
such as "paypa1" spelled in Cyrillic letters, or a dotless i), and invisible or control characters.
"""

from __future__ import annotations

import unicodedata

import idna

from common.errors import InvalidInput

# Non-ASCII letters that imitate ASCII ones (a subset of Unicode's confusables.txt for the scripts
# that matter here); letters with visible diacritics are not look-alikes.
LOOKALIKES: dict[str, str] = {
    # Cyrillic
    "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u04bb": "h", "\u0456": "i", "\u0458": "j",
    "\u043a": "k", "\u043c": "m", "\u043d": "h", "\u043e": "o", "\u0440": "p", "\u0441": "c",
    "\u0455": "s", "\u0442": "t", "\u0445": "x", "\u0443": "y", "\u0501": "d", "\u051b": "q",
    "\u051d": "w", "\u04cf": "l", "\u04af": "y", "\u0261": "g",
    # Greek
    "\u03b1": "a", "\u03b2": "b", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v", "\u03bf": "o",
    "\u03c1": "p", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x", "\u03f2": "c", "\u03f3": "j",
    "\u03b5": "e", "\u03b7": "n", "\u03bc": "u",
    # Armenian
    "\u0585": "o", "\u057d": "u", "\u0570": "h", "\u0578": "n", "\u0581": "g", "\u0566": "q",
    # Latin letters without a diacritic that imitate ASCII ones
    "\u0131": "i", "\u0237": "j", "\u0251": "a", "\u0269": "i", "\u026a": "i", "\u0280": "r",
    "\u028f": "y", "\u0274": "n", "\u029f": "l", "\u01c0": "l", "\u0252": "a", "\u0262": "g",
    "\u029c": "h", "\u1d00": "a", "\u1d04": "c", "\u1d05": "d", "\u1d07": "e", "\u1d0b": "k",
    "\u1d0d": "m", "\u1d0f": "o", "\u1d18": "p", "\u1d1b": "t", "\u1d1c": "u", "\u1d20": "v",
    "\u1d21": "w", "\u1d22": "z", "\ua731": "s", "\u027e": "r", "\u027c": "r",
}  # fmt: skip

# UTS 39 "highly restrictive": one script, or Latin with these East Asian combinations.
ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": None}
MAX_LENGTH = 254


def _refuse(detail: str) -> InvalidInput:
    return InvalidInput(detail, field="email")


def _script(char: str) -> str | None:
    """The script of a letter or digit (from its Unicode name), None for common characters and marks."""
    if char.isascii():
        return "LATIN" if char.isalpha() else None
    category = unicodedata.category(char)
    if not (category.startswith("L") or category == "Nd"):
        return None
    word = unicodedata.name(char, "UNKNOWN").split(" ")[0]
    return _SCRIPT_ALIASES.get(word, word.split("-")[0])


def _check_scripts(text: str, where: str) -> None:
    scripts = {s for s in map(_script, text) if s is not None}
    if len(scripts) > 1 and not any(scripts <= mix for mix in ALLOWED_MIXES):
        names = " and ".join(sorted(s.title() for s in scripts))
        raise _refuse(f"the {where} of the e-mail address mixes scripts ({names})")


def skeleton(text: str) -> str:
    """The text with every look-alike letter replaced by the ASCII letter it imitates."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(LOOKALIKES.get(c, c) for c in decomposed))


def _check_lookalikes(text: str, where: str) -> None:
    if not text.isascii() and skeleton(text).isascii():
        raise _refuse(
            f"the {where} of the e-mail address imitates {skeleton(text)!r} with look-alike letters"
        )


def _check_characters(text: str) -> None:
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "CZ":  # controls, format (invisible), surrogates, private use, unassigned, spaces
            raise _refuse(
                f"the e-mail address contains an invisible or control character (U+{ord(char):04X})"
            )


def _domain(domain: str) -> str:
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise _refuse("the domain of the e-mail address is not a valid domain name") from exc
    for label in ascii_domain.split("."):
        if label.startswith("xn--"):
            try:
                unicode_label = idna.decode(label)
            except (idna.IDNAError, UnicodeError, ValueError) as exc:
                raise _refuse("the domain of the e-mail address is not a valid domain name") from exc
            _check_scripts(unicode_label, "domain")
            _check_lookalikes(unicode_label, "domain")
    return ascii_domain.lower()


def canonical_email(address: str) -> str:
    """The one form of an address that names its mailbox; refuses look-alikes (InvalidInput)."""
    text = unicodedata.normalize("NFKC", address).strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise _refuse("the e-mail address needs a local part and a domain")
    local = unicodedata.normalize("NFKC", local.casefold())
    _check_characters(local)
    _check_scripts(local, "local part")
    _check_lookalikes(local, "local part")
    canonical = f"{local}@{_domain(domain)}"
    if len(canonical) > MAX_LENGTH:
        raise _refuse("the e-mail address is too long")
    return canonical


def sign_in_name(username: str) -> str:
    """What a sign-in is looked up and throttled by: the canonical address, or a folded form of anything else."""
    try:
        return canonical_email(username)
    except InvalidInput:
        return unicodedata.normalize("NFKC", username).strip().casefold()


def legacy_form(address: str) -> str:
    """How addresses were stored before canonical forms (only lower-cased), for accounts from then."""
    return address.strip().lower()
