"""Command line of the notifications service: `python -m notifications serve|api|worker|relay|openapi|asyncapi`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from common import cli
from notifications.app import create_app
from notifications.config import SERVICE, Settings


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(argv, service=SERVICE, settings_factory=Settings, app_factory=create_app)


if __name__ == "__main__":
    sys.exit(main())
