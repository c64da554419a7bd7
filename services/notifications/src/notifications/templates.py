"""Rendering notices with the Jinja2 templates (plain text and HTML) shipped in `templates/`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifications.domain.notices import one_line

# Free texts that may span lines in the body; never used in a subject.
MULTILINE_FIELDS = frozenset({"reason", "agenda"})


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Templates:
    def __init__(self, app_url: str) -> None:
        self.app_url = app_url.rstrip("/")
        self.env = Environment(
            loader=PackageLoader("notifications", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, kind: str, context: dict[str, Any]) -> Rendered:
        # Names (of organizations, coalitions, campaigns) come from other services' events; a line break
        # in one would cut the subject line short and break the mail header, so they are kept to one line.
        values = {
            "app_url": self.app_url,
            **{
                k: one_line(v, limit=1000) if isinstance(v, str) and k not in MULTILINE_FIELDS else v
                for k, v in context.items()
            },
        }
        text = self.env.get_template(f"{kind}.txt.j2").render(values)
        first, _, rest = text.partition("\n")
        subject = one_line(first.removeprefix("Subject:"))
        html = self.env.get_template(f"{kind}.html.j2").render(values)
        return Rendered(subject=subject, text=rest.strip() + "\n", html=html)
