"""The scope table: each scope an API client may hold, what it allows and on which service.

Identity grants only these scopes; every service checks them (`Principal.require_scope`) before it looks
anything up, so a client without the scope gets the same 403 whether or not the resource exists. A
scope never implies another, and it never reaches beyond the client's own organization. Users are
governed by their roles in their organizations, not by scopes. `docs/scopes.md` is `markdown()`.
"""

from __future__ import annotations

from dataclasses import dataclass

ORGANIZATIONS_READ = "organizations:read"
COALITIONS_READ = "coalitions:read"
COALITIONS_WRITE = "coalitions:write"
CAMPAIGNS_READ = "campaigns:read"
CAMPAIGNS_WRITE = "campaigns:write"
SUPPORTERS_READ = "supporters:read"
SUPPORTERS_ERASE = "supporters:erase"
WEBHOOKS_MANAGE = "webhooks:manage"

_CAMPAIGN = "/v1/campaigns/{campaign_id}"
_MEMBERSHIP = "/v1/coalitions/{coalition_id}/memberships/{org_id}"
_WEBHOOK = "/v1/webhooks/{endpoint_id}"


@dataclass(frozen=True)
class Scope:
    """One row of the table: the endpoints (`METHOD /path`) that need this scope and nothing else."""

    name: str
    service: str
    allows: str
    endpoints: tuple[str, ...]


SCOPES: tuple[Scope, ...] = (
    Scope(
        ORGANIZATIONS_READ,
        "identity",
        "Read the members and the funding declaration of its own organization (the profile and the "
        "directory are public)",
        ("GET /v1/organizations/{org_id}/members", "GET /v1/organizations/{org_id}/disclosures"),
    ),
    Scope(
        COALITIONS_READ,
        "coalition",
        "Read coalitions it may see, their members, and an organization's coalitions",
        (
            "GET /v1/coalitions/{coalition_id}",
            "GET /v1/coalitions/{coalition_id}/members",
            "GET /v1/organizations/{org_id}/coalitions",
        ),
    ),
    Scope(
        COALITIONS_WRITE,
        "coalition",
        "Create and manage coalitions and its organization's memberships as that organization's admins "
        "would, and decline a data-sharing proposal (accepting one is for its admins in person)",
        (
            "POST /v1/coalitions",
            "PATCH /v1/coalitions/{coalition_id}",
            "POST /v1/coalitions/{coalition_id}/archive",
            "POST /v1/coalitions/{coalition_id}/invitations",
            "POST /v1/coalitions/{coalition_id}/applications",
            f"POST {_MEMBERSHIP}/accept",
            f"POST {_MEMBERSHIP}/decline",
            f"POST {_MEMBERSHIP}/leave",
            f"POST {_MEMBERSHIP}/approve",
            f"POST {_MEMBERSHIP}/reject",
            f"POST {_MEMBERSHIP}/suspend",
            f"POST {_MEMBERSHIP}/reinstate",
            f"PATCH {_MEMBERSHIP}",
            f"DELETE {_MEMBERSHIP}",
            f"PUT {_MEMBERSHIP}/sharing",
            f"POST {_MEMBERSHIP}/sharing/decline",
        ),
    ),
    Scope(
        CAMPAIGNS_READ,
        "campaigns",
        "Read the campaigns its organization sees: list, profile, links, statistics, outcome goals and "
        "disclosures (and its coalitions' outcome goals), and the directories of decision-makers it may see",
        (
            "GET /v1/campaigns",
            f"GET {_CAMPAIGN}",
            f"GET {_CAMPAIGN}/links",
            f"GET {_CAMPAIGN}/stats",
            "GET /v1/targets",
            "GET /v1/targets/{target_id}",
            "GET /v1/targets/{target_id}/versions",
            f"GET {_CAMPAIGN}/outcome-goals",
            f"GET {_CAMPAIGN}/disclosures",
            "GET /v1/coalitions/{coalition_id}/outcome-goals",
        ),
    ),
    Scope(
        CAMPAIGNS_WRITE,
        "campaigns",
        "Draft, edit and move campaigns through their lifecycle, adopt and withdraw, moderate stories, "
        "schedule and report advocacy-day meetings, set and measure outcome goals, state conflicts of "
        "interest, read and publish impact reports, keep directories of decision-makers, read letters' "
        "deliveries and deliver petitions (as the organization's organizers would)",
        (
            "POST /v1/campaigns",
            f"PATCH {_CAMPAIGN}",
            f"POST {_CAMPAIGN}/launch",
            f"POST {_CAMPAIGN}/pause",
            f"POST {_CAMPAIGN}/resume",
            f"POST {_CAMPAIGN}/close",
            f"POST {_CAMPAIGN}/archive",
            f"POST {_CAMPAIGN}/adoptions",
            f"DELETE {_CAMPAIGN}/adoptions/{{organization_id}}",
            f"GET {_CAMPAIGN}/stories",
            f"POST {_CAMPAIGN}/stories/{{story_id}}/approve",
            f"POST {_CAMPAIGN}/stories/{{story_id}}/reject",
            f"POST {_CAMPAIGN}/stories/{{story_id}}/publish",
            f"POST {_CAMPAIGN}/stories/{{story_id}}/unpublish",
            "POST /v1/targets",
            "POST /v1/target-imports",
            "PATCH /v1/targets/{target_id}",
            "DELETE /v1/targets/{target_id}",
            f"POST {_CAMPAIGN}/petition-deliveries",
            f"GET {_CAMPAIGN}/petition-deliveries",
            f"GET {_CAMPAIGN}/letters/deliveries",
            f"POST {_CAMPAIGN}/meetings",
            f"GET {_CAMPAIGN}/meetings",
            f"POST {_CAMPAIGN}/meetings/{{meeting_id}}/report",
            f"POST {_CAMPAIGN}/outcome-goals",
            f"POST {_CAMPAIGN}/outcome-goals/{{goal_id}}/measurements",
            f"POST {_CAMPAIGN}/outcome-goals/{{goal_id}}/verdict",
            f"PUT {_CAMPAIGN}/conflicts-of-interest",
            f"GET {_CAMPAIGN}/impact-report",
            f"GET {_CAMPAIGN}/impact-report.pdf",
            f"PUT {_CAMPAIGN}/impact-report/publication",
            "POST /v1/coalitions/{coalition_id}/outcome-goals",
            "POST /v1/coalitions/{coalition_id}/outcome-goals/{goal_id}/measurements",
            "POST /v1/coalitions/{coalition_id}/outcome-goals/{goal_id}/verdict",
            "GET /v1/coalitions/{coalition_id}/impact-report",
            "GET /v1/coalitions/{coalition_id}/impact-report.pdf",
        ),
    ),
    Scope(
        SUPPORTERS_READ,
        "campaigns",
        "Read and export the supporter contacts its organization may see (consented contacts only), and "
        "download petition deliveries (they name the signatories who agreed to appear)",
        (
            f"GET {_CAMPAIGN}/supporters",
            f"GET {_CAMPAIGN}/supporters.csv",
            f"GET {_CAMPAIGN}/petition-deliveries/{{delivery_id}}/pdf",
            f"GET {_CAMPAIGN}/petition-deliveries/{{delivery_id}}/csv",
        ),
    ),
    Scope(
        SUPPORTERS_ERASE,
        "campaigns",
        "Erase one of its organization's supporters (personal data goes, totals stay)",
        ("DELETE /v1/organizations/{organization_id}/supporters/{supporter_id}",),
    ),
    Scope(
        WEBHOOKS_MANAGE,
        "notifications",
        "Register and manage its organization's webhook endpoints, their messages, retries and replays",
        (
            "POST /v1/organizations/{org_id}/webhooks",
            "GET /v1/organizations/{org_id}/webhooks",
            f"GET {_WEBHOOK}",
            f"PATCH {_WEBHOOK}",
            f"DELETE {_WEBHOOK}",
            f"POST {_WEBHOOK}/secret/rotate",
            f"GET {_WEBHOOK}/messages",
            f"GET {_WEBHOOK}/messages/{{message_id}}/attempts",
            f"POST {_WEBHOOK}/messages/{{message_id}}/retry",
            f"POST {_WEBHOOK}/replay",
            f"POST {_WEBHOOK}/test",
            f"GET {_WEBHOOK}/stats",
        ),
    ),
)

BY_NAME: dict[str, Scope] = {s.name: s for s in SCOPES}
CLIENT_SCOPES: dict[str, str] = {s.name: s.allows for s in SCOPES}


def required_scope(method: str, path: str) -> str | None:
    """The scope an API client needs for an endpoint (`path` as routed, with `{names}`), if any."""
    endpoint = f"{method.upper()} {path}"
    for scope in SCOPES:
        if endpoint in scope.endpoints:
            return scope.name
    return None


def markdown() -> str:
    """The table as `docs/scopes.md` and the README show it."""
    lines = [
        "| scope | service | allows an API client to | endpoints |",
        "|---|---|---|---|",
    ]
    for s in SCOPES:
        endpoints = "<br>".join(f"`{e}`" for e in s.endpoints)
        lines.append(f"| `{s.name}` | {s.service} | {s.allows} | {endpoints} |")
    rules = [
        "An API client acts for its own organization only: a scope never reaches another organization's "
        "data, and the endpoint's other rules still apply (the client stands where its organization's "
        "organizers stand for campaigns, its admins for coalitions, webhooks and erasure).",
        "A scope never implies another: `campaigns:write` neither reads campaigns nor reads or erases "
        "supporters; `coalitions:write` does not read coalitions.",
        "Public coalitions can be read without any token; a token of an API client without "
        "`coalitions:read` is refused there all the same.",
        "A missing scope is a 403 `application/problem+json` with `required_scope`, checked before "
        "anything is looked up: the same answer whether or not the resource exists.",
        "Every other endpoint is either public (no token needed) or for signed-in users only (an API "
        "client gets 403): identity's management of organizations, members, invitations and API clients, "
        "`/v1/users/me…`, accepting a data-sharing proposal, confirming a webhook endpoint under review, and "
        "notices and preferences.",
        "Users are governed by their roles in their organizations, not by scopes.",
    ]
    return "\n".join(["# Scopes of API clients", "", *lines, "", *(f"- {r}" for r in rules), ""])
