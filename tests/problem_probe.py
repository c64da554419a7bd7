"""Shared checks for every service's bad-input tests: is each answer the right problem+json 4xx?"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, settings

PROBLEM_JSON = "application/problem+json"

JUNK_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NOT_AN_OBJECT = [[], ["a"], "text", 42, True]
WRONG_TYPES = [12345, True, {"$ne": None}, [["nested"]]]
INVALID_UUIDS = ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g", "' OR '1'='1", "x" * 300]
OVERSIZED = "x" * 100_000


def problem_failure(
    request: str, response: httpx.Response, expected: int | None = None, *, allow_success: bool = False
) -> str | None:
    """Why the response is not the expected problem+json 4xx, or None when it is.

    With `allow_success`, a 2xx passes too: generated input is sometimes valid.
    """
    status = response.status_code
    seen = f"{request} -> {status} {response.headers.get('content-type')}: {response.text[:400]}"
    if allow_success and 200 <= status < 300:
        return None
    if expected is not None and status != expected:
        return f"expected {expected}; {seen}"
    if not 400 <= status < 500:
        return f"expected a 4xx; {seen}"
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return f"not problem+json; {seen}"
    body = response.json()
    if not isinstance(body, dict) or body.get("status") != status or not body.get("title"):
        return f"problem lacks status or title; {seen}"
    return None


@dataclass
class Probe:
    """Sends bad requests and collects every answer that is not the right problem, to report them all."""

    http: httpx.AsyncClient
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    async def expect(
        self,
        expected: int | None,
        method: str,
        url: str,
        *,
        describe: str = "",
        allow_success: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        response = await self.http.request(method, url, **kwargs)
        self.sent += 1
        request = f"{method} {url[:120]} {describe}".rstrip()
        failure = problem_failure(request, response, expected, allow_success=allow_success)
        if failure:
            self.failures.append(failure)
        return response

    async def expect_json(
        self, expected: int | None, method: str, url: str, body: Any, *, describe: str = "", **kwargs: Any
    ) -> httpx.Response:
        content = json.dumps(body).encode()
        headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
        describe = describe or f"body {content[:150]!r}"
        return await self.expect(
            expected, method, url, describe=describe, content=content, headers=headers, **kwargs
        )

    def assert_clean(self, *, at_least: int = 1) -> None:
        assert self.sent >= at_least, (
            f"only {self.sent} requests were sent; did the endpoint discovery break?"
        )
        assert not self.failures, f"{len(self.failures)} of {self.sent} requests:\n" + "\n".join(
            self.failures
        )
