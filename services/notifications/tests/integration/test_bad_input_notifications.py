"""Bad input on every notifications endpoint gets an application/problem+json 4xx, never a 500."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from notifications_world import NotificationsWorld

from problem_probe import INVALID_UUIDS, NOT_AN_OBJECT, OVERSIZED, WRONG_TYPES, Probe

BODY_FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/organizations/{org_id}/webhooks"): {"url": "{url}", "event_types": ["*"]},
    ("PATCH", "/v1/webhooks/{endpoint_id}"): {"description": "ok"},
    ("POST", "/v1/webhooks/{endpoint_id}/replay"): {"since": "2026-01-01T00:00:00Z"},
    ("PATCH", "/v1/me/preferences"): {"categories": {"goal_milestone": {"email": False}}},
}

BAD_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/organizations/{org_id}/webhooks", {"url": "not a url", "event_types": ["*"]}),
    ("POST", "/v1/organizations/{org_id}/webhooks", {"url": "{url}", "event_types": []}),
    ("POST", "/v1/organizations/{org_id}/webhooks", {"url": "{url}", "event_types": ["Campaigns.*.x"]}),
    ("POST", "/v1/organizations/{org_id}/webhooks", {"url": "{url}", "event_types": ["a\u0000b"]}),
    (
        "POST",
        "/v1/organizations/{org_id}/webhooks",
        {"url": "{url}", "event_types": ["*"], "rate_per_second": 0},
    ),
    (
        "POST",
        "/v1/organizations/{org_id}/webhooks",
        {"url": "{url}", "event_types": ["*"], "coalition_ids": ["x"]},
    ),
    ("POST", "/v1/organizations/{org_id}/webhooks", {"url": "{url}", "event_types": ["*"], "unknown": 1}),
    ("POST", "/v1/organizations/{org_id}/webhooks", {"url": "http://[::1", "event_types": ["*"]}),
    (
        "POST",
        "/v1/organizations/{org_id}/webhooks",
        {"url": "http://127.0.0.1:99999/x", "event_types": ["*"]},
    ),
    ("PATCH", "/v1/webhooks/{endpoint_id}", {"url": "javascript:alert(1)"}),
    ("PATCH", "/v1/webhooks/{endpoint_id}", {"description": "x" * 600}),
    ("POST", "/v1/webhooks/{endpoint_id}/replay", {"since": "yesterday"}),
    ("POST", "/v1/webhooks/{endpoint_id}/replay", {"since": "2026-01-01T00:00:00"}),
    ("POST", "/v1/webhooks/{endpoint_id}/replay", {"since": "2999-01-01T00:00:00Z"}),
    ("POST", "/v1/webhooks/{endpoint_id}/secret/rotate", {"grace_seconds": -1}),
    ("PATCH", "/v1/me/preferences", {"categories": {"no_such_category": {"email": False}}}),
    ("PATCH", "/v1/me/preferences", {"categories": {"goal_milestone": {"sms": False}}}),
]

BAD_QUERIES = [
    ("/v1/organizations/{org_id}/webhooks", {"limit": "0"}),
    ("/v1/organizations/{org_id}/webhooks", {"limit": "ten"}),
    ("/v1/organizations/{org_id}/webhooks", {"cursor": "%%%"}),
    ("/v1/webhooks/{endpoint_id}/messages", {"status": "lost"}),
    ("/v1/webhooks/{endpoint_id}/messages", {"cursor": "bm90LWEtdXVpZA"}),
    ("/v1/webhooks/{endpoint_id}/stats", {"days": "0"}),
    ("/v1/me/notices", {"limit": "101"}),
    ("/v1/me/notices", {"unread": "maybe"}),
    ("/v1/sent-messages", {}),
    ("/v1/sent-messages", {"campaign_id": "not-a-uuid"}),
    ("/v1/sent-messages", {"campaign_id": "{org_id}", "limit": "0"}),
    ("/v1/sent-messages", {"campaign_id": "{org_id}", "cursor": "%%%"}),
]


@dataclass(frozen=True)
class _Route:
    path: str


def _fill(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _fill_body(body: Any, values: dict[str, str]) -> Any:
    if isinstance(body, dict):
        return {k: _fill_body(v, values) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill_body(v, values) for v in body]
    return _fill(body, values) if isinstance(body, str) else body


async def test_bad_input_gets_problem_json_4xx(world: NotificationsWorld) -> None:
    org = await world.org("probe")
    endpoint = await world.endpoint(org, f"probe-{uuid.uuid4().hex[:6]}")
    sent = await world.send_test(org, endpoint["id"])
    values = {
        "org_id": org.id,
        "endpoint_id": endpoint["id"],
        "message_id": sent["id"],
        "notice_id": str(uuid.uuid4()),
        "url": world.receiver.url("probe"),
    }
    probe = Probe(world.http)
    assert world.stack.app is not None
    # The endpoints come from the running app's OpenAPI document, so a new endpoint is probed too.
    paths = {p: ops for p, ops in world.stack.app.openapi()["paths"].items() if p.startswith("/v1/")}
    assert len(paths) >= 12

    for path, operations in paths.items():
        route = _Route(path)
        for method in (m.upper() for m in operations):
            # Unauthenticated: 401.
            await probe.expect(401, method, _fill(route.path, values))
            # Every path id, malformed.
            for param in ("org_id", "endpoint_id", "message_id", "notice_id"):
                if "{" + param + "}" in route.path:
                    for bad in INVALID_UUIDS:
                        await probe.expect(
                            422, method, _fill(route.path, {**values, param: bad}), headers=org.headers
                        )
            if (method, route.path) in BODY_FIELDS:
                url = _fill(route.path, values)
                valid = _fill_body(BODY_FIELDS[(method, route.path)], values)
                for body in NOT_AN_OBJECT:
                    await probe.expect_json(422, method, url, body, headers=org.headers)
                for field in valid:
                    for wrong in WRONG_TYPES:
                        await probe.expect_json(
                            422, method, url, {**valid, field: wrong}, headers=org.headers
                        )
                await probe.expect_json(
                    None, method, url, {**valid, "description": OVERSIZED}, headers=org.headers
                )
                await probe.expect(
                    400,
                    method,
                    url,
                    content=b"{not json",
                    headers={**org.headers, "content-type": "application/json"},
                )

    for method, path, body in BAD_BODIES:
        await probe.expect_json(
            None, method, _fill(path, values), _fill_body(body, values), headers=org.headers
        )
    for path, params in BAD_QUERIES:
        filled = {k: _fill(v, values) for k, v in params.items()}
        await probe.expect(None, "GET", _fill(path, values), params=filled, headers=org.headers)
    # Unknown ids: 404.
    await probe.expect(404, "GET", f"/v1/webhooks/{uuid.uuid4()}", headers=org.headers)
    await probe.expect(
        404, "GET", f"/v1/webhooks/{endpoint['id']}/messages/{uuid.uuid4()}/attempts", headers=org.headers
    )
    probe.assert_clean(at_least=100)
