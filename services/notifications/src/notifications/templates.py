"""Rendering notices with the Jinja2 templates (plain text and HTML) shipped in `templates/`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


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
        values = {"app_url": self.app_url, **context}
        text = self.env.get_template(f"{kind}.txt.j2").render(values)
        first, _, rest = text.partition("\n")
        subject = first.removeprefix("Subject:").strip()
        html = self.env.get_template(f"{kind}.html.j2").render(values)
        return Rendered(subject=subject, text=rest.strip() + "\n", html=html)
