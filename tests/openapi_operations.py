"""The endpoints of a running FastAPI app as its OpenAPI document describes them, and junk to send them.

Shared by every service's bad-input tests: each test walks these operations instead of a hand-kept list,
so a new route is probed (and must have a valid example) as soon as it exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from hypothesis import strategies as st

from common.auth import current_principal


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any] = field(compare=False, repr=False)
    schemas: dict[str, Any] = field(compare=False, repr=False)
    requires_token: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def public(self) -> bool:
        return self.path.startswith("/v1/public/")

    @property
    def secured(self) -> bool:
        """The OpenAPI document declares a security scheme for it."""
        return bool(self.spec.get("security"))

    @property
    def takes_token(self) -> bool:
        return self.secured

    @property
    def path_params(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p["schema"] for p in self.spec.get("parameters", []) if p["in"] == "path"}

    @property
    def query_params(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p["in"] == "query"]

    @property
    def required_query_params(self) -> list[str]:
        return [
            p["name"] for p in self.spec.get("parameters", []) if p["in"] == "query" and p.get("required")
        ]

    @property
    def takes_idempotency_key(self) -> bool:
        return any(p["name"] == "Idempotency-Key" for p in self.spec.get("parameters", []))

    @property
    def json_body(self) -> bool:
        return "application/json" in self.spec.get("requestBody", {}).get("content", {})

    @property
    def any_body(self) -> bool:
        return "requestBody" in self.spec

    @property
    def body_required(self) -> bool:
        return bool(self.spec.get("requestBody", {}).get("required"))

    def body_schemas(self) -> list[dict[str, Any]]:
        """The object schemas the body may take (several for a union, such as the campaign kinds)."""
        schema = self._resolve(self.spec["requestBody"]["content"]["application/json"]["schema"])
        alternatives = [self._resolve(s) for s in schema.get("anyOf", schema.get("oneOf", [schema]))]
        return [s for s in alternatives if s.get("type") == "object"]

    def body_schema(self) -> dict[str, Any]:
        return self.body_schemas()[0]

    def field_kinds(self) -> dict[str, set[str]]:
        """Each body field with the JSON types it accepts."""
        kinds: dict[str, set[str]] = {}
        for body in self.body_schemas():
            for name, schema in body.get("properties", {}).items():
                alternatives = [self._resolve(s) for s in schema.get("anyOf", [schema])]
                kinds.setdefault(name, set()).update(
                    str(s.get("type", "enum" if "enum" in s or "const" in s else None)) for s in alternatives
                )
        return kinds

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        return self._resolve(self.schemas[ref.rsplit("/", 1)[-1]]) if ref else schema


def routes(app: FastAPI) -> list[Any]:
    return list(
        fastapi_routing.iter_route_contexts(app.routes)
        if hasattr(fastapi_routing, "iter_route_contexts")
        else app.routes
    )


def _calls(dependant: Any) -> set[Any]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def token_required(app: FastAPI) -> set[tuple[str, str]]:
    """Routes that refuse anonymous callers (those whose dependencies include `current_principal`)."""
    return {
        (method, route.path)
        for route in routes(app)
        if getattr(route, "dependant", None) is not None and current_principal in _calls(route.dependant)
        for method in route.methods or ()
    }


def operations(app: FastAPI, prefix: str = "") -> list[Operation]:
    """Every documented operation whose path starts with `prefix`."""
    document = app.openapi()
    schemas = document.get("components", {}).get("schemas", {})
    required = token_required(app)
    return [
        Operation(method.upper(), path, spec, schemas, (method.upper(), path) in required)
        for path, item in document["paths"].items()
        if path.startswith(prefix)
        for method, spec in item.items()
    ]


def methods_by_path(app: FastAPI) -> dict[str, set[str]]:
    """Every route path with its methods, including routes left out of the OpenAPI document."""
    methods: dict[str, set[str]] = {}
    for route in routes(app):
        if getattr(route, "path", None):
            methods.setdefault(route.path, set()).update(route.methods or ())
    return methods


# ---- junk ------------------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=40)


@dataclass(frozen=True)
class Junk:
    """JSON junk seasoned with a service's own plausible values (its enums, formats, ids)."""

    words: st.SearchStrategy[str]
    scalars: st.SearchStrategy[Any]
    json: st.SearchStrategy[Any]

    @classmethod
    def seasoned_with(cls, plausible: list[str]) -> Junk:
        words = st.sampled_from(plausible)
        scalars = (
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | any_text
            | words
        )
        json = st.recursive(
            scalars,
            lambda children: (
                st.lists(children, max_size=4) | st.dictionaries(any_text | words, children, max_size=4)
            ),
            max_leaves=12,
        )
        return cls(words, scalars, json)

    def near_miss(self, op: Operation) -> st.SearchStrategy[dict[str, Any]]:
        """Objects with the endpoint's own field names holding junk, sometimes with an extra field."""
        fields = dict.fromkeys(op.field_kinds(), self.json)
        return st.builds(
            lambda known, extra: {**extra, **known},
            st.fixed_dictionaries({}, optional=fields),
            st.dictionaries(any_text, self.scalars, max_size=1),
        )
