"""OpenAPI documents that say which errors each operation answers, as the problem+json the services send.

FastAPI documents 2xx and its own `{"detail": [...]}` 422. Every service instead answers errors with
`application/problem+json` (common.errors), so this rewrites the generated document once, for every
service: each operation lists the problems it can answer, by what the route declares (`responses=`),
what its dependencies imply (a token, even an optional one: 401 and 403; a path parameter: 404; a body: 400, 413 and 422;
a dependency marked with `answers(...)`, such as a rate limit: 429) and what every request can meet
(oversized headers: 431; MongoDB not answering: 503).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi import routing as fastapi_routing

from common.auth import optional_principal
from common.errors import PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "title": "Problem",
        "description": "An RFC 9457 problem document; further members may extend it.",
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "description": "A URI naming the kind of problem"},
            "title": {"type": "string", "description": "A short summary of the kind of problem"},
            "status": {"type": "integer", "description": "The HTTP status code"},
            "detail": {"type": "string", "description": "What went wrong with this request"},
            "instance": {"type": "string", "description": "The path of the request"},
            "errors": {
                "type": "array",
                "description": "Invalid input (422): each field that failed validation and why",
                "items": {"$ref": "#/components/schemas/ProblemFieldError"},
            },
        },
        "additionalProperties": True,
    },
    "ProblemFieldError": {
        "title": "ProblemFieldError",
        "description": "One failed validation: where (`location`, or a dotted `field`) and why.",
        "type": "object",
        "required": ["message"],
        "properties": {
            "location": {"type": "array", "items": {"type": "string"}},
            "field": {"type": "string"},
            "message": {"type": "string"},
            "type": {"type": "string"},
        },
        "additionalProperties": True,
    },
}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
WWW_AUTHENTICATE = {"description": "The bearer challenge", "schema": {"type": "string"}}

DESCRIPTIONS: dict[int, str] = {
    400: "The request body is not valid JSON",
    401: "A bearer access token is required, or the one sent is not valid",
    403: "The caller may not do this",
    404: "No such resource (or one the caller may not see)",
    409: "The resource's current state does not allow this",
    410: "The resource is gone for good",
    413: "The request body is too large",
    422: "The request did not pass validation",
    429: "Too many requests (see Retry-After)",
    431: "Too many or too large request header fields",
    503: "The service is busy, or the database did not answer in time; try again shortly (see Retry-After)",
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": WWW_AUTHENTICATE},
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}
CHANGING_METHODS = frozenset({"post", "put", "patch", "delete"})

F = TypeVar("F", bound=Callable[..., Any])


def answers(*statuses: int) -> Callable[[F], F]:
    """Marks a dependency as answering these problem statuses, so every route that uses it documents them."""

    def mark(dependency: F) -> F:
        dependency.__dict__["problem_statuses"] = frozenset(statuses)
        return dependency

    return mark


def _calls(dependant: Any) -> list[Any]:
    found = [dependant.call]
    for sub in dependant.dependencies:
        found.extend(_calls(sub))
    return found


def _implied(route: Any, method: str, operation: dict[str, Any]) -> set[int]:
    """The problems a route can answer by its dependencies, parameters and body."""
    statuses = {431}
    calls = [call for call in _calls(route.dependant) if call is not None]
    # A token is verified even where it is optional (401), and what it may do is checked (403).
    principal = any(call is optional_principal for call in calls)
    if principal:
        statuses |= {401, 403}
    for call in calls:
        statuses |= getattr(call, "problem_statuses", frozenset())
    parameters = operation.get("parameters", [])
    if any(p["in"] == "path" for p in parameters):
        statuses.add(404)
    if parameters or "422" in operation["responses"]:
        statuses.add(422)
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        statuses.add(413)
    if "application/json" in body:
        statuses |= {400, 422}
    if method in CHANGING_METHODS and (principal or "application/json" in body):
        statuses.add(409)  # a change the resource's state refuses (a duplicate, a transition not allowed)
    if route.dependant.dependencies:
        statuses.add(503)  # the service behind a dependency works on MongoDB, under the request's deadline
    return statuses


def _problem_response(status: int, description: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, "Error"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def _declared(route: Any, status: int) -> dict[str, Any]:
    declared: dict[str, Any] = route.responses.get(status) or route.responses.get(str(status)) or {}
    return declared


def _document_operation(route: Any, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    statuses = _implied(route, method, operation) | {
        int(code) for code in responses if code.isdigit() and int(code) >= 400
    }
    for status in sorted(statuses):
        declared = _declared(route, status)
        if "model" in declared or "content" in declared:
            continue  # the route's own error body (OAuth errors, readiness), documented as it declared
        description = declared.get("description") if declared else None
        responses[str(status)] = _problem_response(status, description)
    operation["responses"] = dict(sorted(responses.items()))


def _routes(app: FastAPI) -> Iterable[Any]:
    for route in fastapi_routing.iter_route_contexts(app.routes):
        if getattr(route, "include_in_schema", False) and getattr(route, "dependant", None) is not None:
            yield route


def _uses(document: Any, ref: str) -> bool:
    if isinstance(document, dict):
        return any(v == ref or _uses(v, ref) for v in document.values())
    if isinstance(document, list):
        return any(_uses(v, ref) for v in document)
    return False


def document_problems(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """`document` (the app's generated OpenAPI) with every operation's problem responses."""
    paths: dict[str, Any] = document.get("paths", {})
    for route in _routes(app):
        item = paths.get(route.path_format, {})
        for method in sorted(m.lower() for m in route.methods or ()):
            if method in item:
                _document_operation(route, method, item[method])
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(PROBLEM_SCHEMAS)
    for name in FASTAPI_VALIDATION_SCHEMAS:
        if name in schemas and not _uses(document, f"#/components/schemas/{name}"):
            del schemas[name]
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def install_problem_documents(app: FastAPI) -> None:
    """Makes `app.openapi()` return the document with problem responses (generated once, then cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(app, generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
