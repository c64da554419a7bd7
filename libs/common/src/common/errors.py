"""RFC 9457 problem details: domain errors, and handlers that turn every failure into problem+json."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError, WTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://coalition-platform.dev/problems/"

log = logging.getLogger(__name__)

# How long a client is asked to wait when MongoDB does not answer (Retry-After of the 503).
DATABASE_RETRY_AFTER_SECONDS = 5


# Members of a problem document (RFC 9457) and problem()'s own arguments: not extension names.
RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code", "headers"})


class DomainError(Exception):
    """A refusal the caller can understand and act on; carries its HTTP status and problem type."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        clashing = RESERVED_MEMBERS.intersection(extensions)
        if clashing:
            # Caught by any test that reaches the refusal, instead of a 500 when it is rendered.
            raise ValueError(f"problem extensions may not be named {sorted(clashing)}")
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] = {}


class InvalidInput(DomainError):
    status, code, title = 422, "invalid-input", "Invalid input"


class Unauthenticated(DomainError):
    status, code, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(DomainError):
    status, code, title = 410, "gone", "Gone"


class TooManyRequests(DomainError):
    status, code, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.headers["Retry-After"] = str(max(1, retry_after))


def problem(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    code: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """An application/problem+json response."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (code or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "location": list(map(str, err.get("loc", ()))),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem(
        exc.status,
        title=exc.title,
        detail=exc.detail,
        code=exc.code,
        instance=request.url.path,
        headers=exc.headers or None,
        **exc.extensions,
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    if any(err["type"] == "json_invalid" for err in errors):
        return problem(
            400,
            code="malformed-body",
            title="Malformed request body",
            detail="The request body is not valid JSON",
            instance=request.url.path,
        )
    return problem(
        422,
        code="invalid-input",
        title="Invalid input",
        detail="The request did not pass validation",
        instance=request.url.path,
        errors=errors,
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(exc.status_code, detail=detail, instance=request.url.path, headers=exc.headers)


def _causes(exc: BaseException) -> list[BaseException]:
    """The error, what caused it (or was being handled), and the members of exception groups."""
    found: list[BaseException] = []
    pending = [exc]
    while pending and len(found) < 32:
        current = pending.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


def database_unavailable(exc: BaseException) -> bool:
    """MongoDB did not answer in time or could not be reached: worth retrying later, not a bug."""
    for error in _causes(exc):
        if isinstance(error, ConnectionFailure | ExecutionTimeout | WTimeoutError):
            return True
        if isinstance(error, PyMongoError) and (
            error.timeout or error.has_error_label("TransientTransactionError")
        ):
            return True
    return False


def _unavailable(request: Request, exc: BaseException) -> JSONResponse:
    log.warning(
        "MongoDB unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc
    )
    return problem(
        503,
        code="database-unavailable",
        title="Service unavailable",
        detail="The database did not answer in time; try again shortly",
        instance=request.url.path,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        return _unavailable(request, exc)
    raise exc  # a bug, not an outage: on to the catch-all, which logs it and answers 500


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        return _unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, detail="An unexpected error occurred; it has been logged", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    # Answered here rather than by the catch-all, which re-raises into the server's error log.
    app.add_exception_handler(PyMongoError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
