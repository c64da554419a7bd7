#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/browser), installed when missing and running as root.
# Without root, the browser tests fail and say what to install; they never download a browser.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests (apt-get install -y chromium)..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "warning: /usr/bin/chromium is missing and this is not root: the browser tests will fail." >&2
  echo "         Install Debian's chromium first: sudo apt-get install -y chromium" >&2
fi
