"""Command line of the campaigns service: `python -m campaigns serve|api|worker|relay|openapi|asyncapi`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from campaigns.app import create_app
from campaigns.config import SERVICE, Settings
from common import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(argv, service=SERVICE, settings_factory=Settings, app_factory=create_app)


if __name__ == "__main__":
    sys.exit(main())
