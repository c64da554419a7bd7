"""Notices to people: their categories (what a person may opt out of) and the kinds within them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

HEADER_TEXT_LIMIT = 300


class Category(StrEnum):
    ORGANIZATION_INVITATION = "organization_invitation"
    COALITION_MEMBERSHIP = "coalition_membership"
    CAMPAIGN_ADOPTION = "campaign_adoption"
    GOAL_MILESTONE = "goal_milestone"
    DELIVERY_ENDPOINTS = "delivery_endpoints"


class Channel(StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"


KIND_CATEGORY: dict[str, Category] = {
    "org_invitation": Category.ORGANIZATION_INVITATION,
    "coalition_invited": Category.COALITION_MEMBERSHIP,
    "coalition_applied": Category.COALITION_MEMBERSHIP,
    "coalition_outcome": Category.COALITION_MEMBERSHIP,
    "campaign_adopted": Category.CAMPAIGN_ADOPTION,
    "goal_milestone": Category.GOAL_MILESTONE,
    "endpoint_disabled": Category.DELIVERY_ENDPOINTS,
    "endpoint_created": Category.DELIVERY_ENDPOINTS,
    "endpoint_review": Category.DELIVERY_ENDPOINTS,
}

# Mail about a person's own account (the link that verifies their e-mail address): sent whatever their
# preferences and never in the in-app feed. Not a Category, so there is nothing to opt out of.
ACCOUNT_CATEGORY = "account"
# Stands for a link's token in a queued e-mail's text and HTML; the mailer puts the token, derived from
# the e-mail's `link` (common.links), in its place when it sends, so MongoDB never holds the token.
LINK_TOKEN_PLACEHOLDER = "{link-token}"  # noqa: S105 - a placeholder, not a secret
# Mail to a supporter about their own action (the link that confirms it, double opt-in): sent whatever
# happens, never in a feed (supporters have no account). The second link (their own pages) has its own
# placeholder.
SUPPORTER_CATEGORY = "supporter"
PAGES_TOKEN_PLACEHOLDER = "{pages-token}"  # noqa: S105 - a placeholder, not a secret

OUTCOME_TEXT = {
    "coalition.membership.joined": "the organization is now a member",
    "coalition.membership.invitation_declined": "the invitation was declined",
    "coalition.membership.invitation_expired": "the invitation expired",
    "coalition.membership.application_rejected": "the application was rejected",
}

# Organization roles whose people get an organization's notices, per category. Membership changes,
# adoptions and endpoint trouble concern those who can act on them (owners and admins); milestones are
# good news for the organizers who run the campaign too.
ROLES_FOR: dict[Category, frozenset[str]] = {
    Category.COALITION_MEMBERSHIP: frozenset({"owner", "admin"}),
    Category.CAMPAIGN_ADOPTION: frozenset({"owner", "admin"}),
    Category.GOAL_MILESTONE: frozenset({"owner", "admin", "organizer"}),
    Category.DELIVERY_ENDPOINTS: frozenset({"owner", "admin"}),
}


@dataclass(frozen=True)
class Notice:
    """One notice to render and send: its kind (a template), and what the template needs."""

    kind: str
    context: dict[str, Any]

    @property
    def category(self) -> Category:
        return KIND_CATEGORY[self.kind]


def wants(preferences: dict[str, Any], category: Category, channel: Channel) -> bool:
    """Whether a person's preferences let `category` notices through `channel` (opt-out; default yes)."""
    chosen = (preferences.get("categories") or {}).get(category.value) or {}
    return bool(chosen.get(channel.value, True))


def one_line(value: str, *, limit: int = HEADER_TEXT_LIMIT) -> str:
    """`value` fit for a mail header or a title: one line, no control characters, spaces collapsed.

    Everything `str.splitlines()` breaks on (CR, LF, VT, FF, FS, GS, RS, NEL, U+2028, U+2029) is a
    control character (Cc) or a line/paragraph separator (Zl, Zp); each becomes a space, because the
    e-mail package refuses such a header outright (and a name must not be able to add one).
    """
    kept = (" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return " ".join("".join(kept).split())[:limit]
