"""Browser tests of the supporter pages: Debian's chromium driven by Playwright, on one `make run` stack.

Chromium is Debian's package (`/usr/bin/chromium`): `make test` installs it when it runs as root and
it is missing (tests/browser/setup.sh); elsewhere these tests fail and say what to install. Playwright
never downloads a browser here (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 and `executable_path`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from browser.pages_world import HostSite, World, build_world
from launcher import Launched

# Many supporters act from one address in these tests (the browser on loopback): the stack the
# session shares gets a public rate limit that does not get in their way (set before it starts).
os.environ.setdefault("CAMPAIGNS_PUBLIC_RATE_LIMIT", "10000")
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    "The browser tests need Debian's chromium at /usr/bin/chromium. `make test` installs it when run as "
    "root (apt-get install -y chromium); on a machine without root, ask an administrator to run "
    "`apt-get install -y chromium` (Debian 12 or later), then run the tests again."
)


def chromium_path() -> Path:
    found = CHROMIUM if CHROMIUM.exists() else None
    if found is None and shutil.which("chromium"):
        found = Path(str(shutil.which("chromium")))
    if found is None:
        pytest.fail(MISSING, pytrace=False)
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    """One headless chromium for the whole module."""
    from playwright.async_api import async_playwright

    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(executable), args=FLAGS)
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def hosts() -> Iterator[tuple[HostSite, HostSite]]:
    """Two sites on other origins: one the organization allows to embed its pages, one it does not."""
    allowed, other = HostSite.start(), HostSite.start()
    yield allowed, other
    allowed.stop()
    other.stop()


@pytest.fixture(scope="session")
def world(devstack: Launched, hosts: tuple[HostSite, HostSite]) -> World:
    return build_world(devstack, allowed=hosts[0], other=hosts[1])
