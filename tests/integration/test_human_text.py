"""No string in any request body of any service accepts control or bidirectional formatting characters.

The bodies come from each app's routes (every body parameter, then every model nested in it), so a new
endpoint or a new field is covered as soon as it exists. Each `str` anywhere in them (a field, a list item,
a dict value) either carries the shared rule of `common.text` (ONE_LINE or MULTI_LINE), and then refuses
the characters with a message naming them, or has a pattern, enum or format of its own that refuses them
too. A field that holds neither fails here, unless it is listed in EXEMPT with the reason.

A model is validated with the one field set to a bad value: the other fields answer "missing", and only the
errors at the field's own location count. The bad value is padded to the field's minimum length, so that a
length limit is never mistaken for a refusal.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from pydantic import BaseModel, ValidationError

from common.text import MULTI_LINE, ONE_LINE, multi_line, one_line

# Refused by every human-facing text: a sample of each refused class (common.text has the full rule).
BAD = [
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u202a",  # LEFT-TO-RIGHT EMBEDDING
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\x00",  # NUL
    "\x07",  # BEL
    "\x1b",  # ESC
    "\x85",  # NEXT LINE (C1)
    "\u2028",  # LINE SEPARATOR
    "\u2029",  # PARAGRAPH SEPARATOR
    "\u200b",  # ZERO WIDTH SPACE
    "\ufeff",  # BYTE ORDER MARK
]
BREAKS = ["\n", "\r", "\t"]  # refused by one-line texts and by identifiers, allowed in multi-line texts

# Errors that are not a refusal of the character: the value is too short or too long, or another field.
NOT_A_REFUSAL = {"string_too_short", "string_too_long", "missing", "extra_forbidden"}

EXEMPT: dict[tuple[str, str, str], str] = {
    ("identity", "UserCreate", "password"): "a secret: never shown to anyone, only hashed; any character",
    ("identity", "PasswordChange", "new_password"): "a secret: never shown to anyone, only hashed",
    ("identity", "PasswordChange", "current_password"): (
        "a secret compared with the stored hash: refusing characters could lock out an existing password"
    ),
    ("campaigns", "CampaignUpdate", "details[key]"): (
        "the keys of the free-form details are checked by the kind's details model (extra fields forbidden), "
        "whose own fields are walked here through the create bodies"
    ),
}

# Fields that must carry the shared rule: proof that the walk reaches what the rule is for.
EXPECTED: dict[str, dict[tuple[str, str], object]] = {
    "identity": {
        ("UserCreate", "display_name"): ONE_LINE,
        ("UserUpdate", "display_name"): ONE_LINE,
        ("OrganizationCreate", "name"): ONE_LINE,
        ("OrganizationCreate", "description"): MULTI_LINE,
        ("OrganizationUpdate", "name"): ONE_LINE,
        ("OrganizationUpdate", "description"): MULTI_LINE,
        ("Deactivation", "reason"): MULTI_LINE,
        ("ClientCreate", "name"): ONE_LINE,
    },
    "coalition": {
        ("CoalitionCreate", "name"): ONE_LINE,
        ("CoalitionCreate", "mission"): MULTI_LINE,
        ("CoalitionCreate", "focus_areas[0]"): ONE_LINE,
        ("CoalitionUpdate", "name"): ONE_LINE,
        ("CoalitionUpdate", "mission"): MULTI_LINE,
        ("Application", "message"): MULTI_LINE,
        ("Reason", "reason"): MULTI_LINE,
    },
    "campaigns": {
        ("PetitionCreate", "title"): ONE_LINE,
        ("PetitionCreate", "summary"): MULTI_LINE,
        ("CampaignUpdate", "title"): ONE_LINE,
        ("DecisionMaker", "name"): ONE_LINE,
        ("PetitionDetails", "text"): MULTI_LINE,
        ("LetterTarget", "office"): ONE_LINE,
        ("LetterDetails", "subject"): ONE_LINE,
        ("LetterDetails", "body_template"): MULTI_LINE,
        ("LetterDetails", "ask"): ONE_LINE,
        ("EventDetails", "place"): ONE_LINE,
        ("StoryCollectionDetails", "prompt"): MULTI_LINE,
        ("ShareDetails", "message"): MULTI_LINE,
        ("Moderation", "reason"): MULTI_LINE,
        ("SupporterIn", "first_name"): ONE_LINE,
        ("SupporterIn", "last_name"): ONE_LINE,
        ("LetterIn", "subject"): ONE_LINE,
        ("LetterIn", "body"): MULTI_LINE,
        ("StoryIn", "title"): ONE_LINE,
        ("StoryIn", "body"): MULTI_LINE,
    },
    "notifications": {
        ("EndpointCreate", "description"): MULTI_LINE,
        ("EndpointUpdate", "description"): MULTI_LINE,
    },
}


def _identity() -> FastAPI:
    from identity.app import create_app
    from identity.config import Settings

    return create_app(Settings(environment="development"))


def _coalition() -> FastAPI:
    from coalition.app import create_app
    from coalition.config import Settings

    return create_app(Settings(environment="development"))


def _campaigns() -> FastAPI:
    from campaigns.app import create_app
    from campaigns.config import Settings

    return create_app(Settings(environment="development"))


def _notifications() -> FastAPI:
    from notifications.app import create_app
    from notifications.config import Settings

    return create_app(Settings(environment="development"))


APPS: dict[str, Callable[[], FastAPI]] = {
    "identity": _identity,
    "coalition": _coalition,
    "campaigns": _campaigns,
    "notifications": _notifications,
}

KEY = object()  # a path step: the keys of a dict


@dataclass(frozen=True)
class Slot:
    """A `str` somewhere in a request model: in `field`, at `path` (list items, dict values or keys)."""

    model: type[BaseModel]
    field: str
    path: tuple[Any, ...]
    metadata: tuple[Any, ...]

    @property
    def name(self) -> str:
        steps = "".join("[key]" if step is KEY else f"[{step}]" for step in self.path)
        return f"{self.field}{steps}"

    @property
    def rule(self) -> object | None:
        for item in self.metadata:
            if item is ONE_LINE or getattr(item, "func", None) is one_line:
                return ONE_LINE
            if item is MULTI_LINE or getattr(item, "func", None) is multi_line:
                return MULTI_LINE
        return None

    @property
    def min_length(self) -> int:
        return max([getattr(item, "min_length", None) or 0 for item in self.metadata], default=0)

    def value(self, char: str) -> str:
        padding = "a" * max(0, self.min_length - 3)
        return f"A{padding}{char}B"

    def body(self, text: str) -> dict[str, Any]:
        value: Any = text
        for step in reversed(self.path):
            value = [value] if step == 0 else {step: value}
        return {self.field: value}

    @property
    def location(self) -> tuple[Any, ...]:
        return (self.field, *self.path)

    def errors(self, text: str) -> list[dict[str, Any]]:
        """The errors at this slot's location when the model holds `text` there."""
        try:
            self.model.model_validate(self.body(text))
        except ValidationError as exc:
            return [dict(e) for e in exc.errors(include_url=False) if e["loc"] == self.location]
        return []


def _sample_key(key_type: Any) -> Any:
    if isinstance(key_type, type) and issubclass(key_type, Enum):
        return next(iter(key_type)).value
    return "key"


def _walk(annotation: Any, metadata: tuple[Any, ...], path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """(path, metadata) of each str in `annotation`, and ("model", cls) of each model in it."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        yield from _walk(base, (*metadata, *extra), path)
    elif origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            if arg is not type(None):
                yield from _walk(arg, metadata, path)
    elif origin in (list, set, frozenset, tuple, Sequence):
        yield from _walk(get_args(annotation)[0], (), (*path, 0))
    elif origin in (dict, Mapping):
        key_type, value_type = get_args(annotation)
        yield from _walk(key_type, (), (*path, KEY))
        yield from _walk(value_type, (), (*path, _sample_key(key_type)))
    elif annotation is str:
        yield ("str", path, metadata)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield ("model", annotation)
    # Anything else is not a plain str: numbers, UUIDs, times, enums, literals, e-mail addresses, URLs, Any.


def _body_params(dependant: Any) -> Iterator[Any]:
    yield from dependant.body_params
    for sub in dependant.dependencies:
        yield from _body_params(sub)


def request_models(app: FastAPI) -> list[type[BaseModel]]:
    """Every model a request body of `app` is validated with, nested models included."""
    pending: list[type[BaseModel]] = []
    for route in fastapi_routing.iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        for param in _body_params(dependant):
            for found in _walk(param.field_info.annotation, tuple(param.field_info.metadata), ()):
                assert found[0] == "model", f"{route.path}: a body that is not a model; extend this test"
                pending.append(found[1])
    seen: list[type[BaseModel]] = []
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            pending += [found[1] for found in _walk(field.annotation, (), ()) if found[0] == "model"]
    return seen


def string_slots(app: FastAPI) -> list[Slot]:
    slots = []
    for model in request_models(app):
        for name, field in model.model_fields.items():
            for found in _walk(field.annotation, tuple(field.metadata), ()):
                if found[0] == "str":
                    slots.append(Slot(model, field.alias or name, found[1], found[2]))
    return slots


@pytest.fixture(scope="module", params=list(APPS))
def service(request: pytest.FixtureRequest) -> tuple[str, list[Slot]]:
    name: str = request.param
    return name, string_slots(APPS[name]())


def test_every_string_in_every_request_body_refuses_control_and_bidi_characters(
    service: tuple[str, list[Slot]],
) -> None:
    name, slots = service
    problems = []
    exempt_seen = set()
    for slot in slots:
        key = (name, slot.model.__name__, slot.name)
        if key in EXEMPT:
            exempt_seen.add(key)
            continue
        if KEY in slot.path:
            problems.append(
                f"{key}: a str dict key; give it a pattern or an enum, or exempt it with the reason"
            )
            continue
        rule = slot.rule
        refused = BAD + BREAKS if rule is not MULTI_LINE else BAD
        for char in refused:
            errors = slot.errors(slot.value(char))
            refusals = [e for e in errors if e["type"] not in NOT_A_REFUSAL]
            if not refusals:
                problems.append(
                    f"{key} accepts U+{ord(char):04X}: add common.text.ONE_LINE or MULTI_LINE to it "
                    "(or a pattern, if it is not human-facing text)"
                )
            elif rule is not None and not any(f"(U+{ord(char):04X}" in e["msg"] for e in refusals):
                problems.append(f"{key}: the refusal of U+{ord(char):04X} does not name it: {refusals}")
        if rule is MULTI_LINE:
            for char in BREAKS:
                if errors := slot.errors(slot.value(char)):
                    problems.append(f"{key} is multi-line but refuses U+{ord(char):04X}: {errors}")
    assert not problems, "\n".join(problems)
    assert exempt_seen == {key for key in EXEMPT if key[0] == name}, "EXEMPT lists a field that is gone"


def test_the_walk_reaches_the_human_facing_fields(service: tuple[str, list[Slot]]) -> None:
    name, slots = service
    rules = {(slot.model.__name__, slot.name): slot.rule for slot in slots}
    missing = {
        field: rule for field, rule in EXPECTED[name].items() if rules.get(field, "absent") is not rule
    }
    assert not missing, f"not reached, or without the expected rule: {sorted(missing)}"


def test_a_refusal_names_the_character_and_the_field() -> None:
    from campaigns.api.schemas import SupporterIn

    with pytest.raises(ValidationError) as info:
        SupporterIn.model_validate({"email": "eve@example.org", "first_name": "Eve\u202egnp.exe"})
    [error] = info.value.errors(include_url=False)
    assert error["loc"] == ("first_name",)
    assert error["type"] == "value_error"
    assert error["msg"] == (
        "Value error, contains a bidirectional formatting character (U+202E RIGHT-TO-LEFT OVERRIDE)"
    )
