#!/usr/bin/env bash
# Debian's chromium for the page's browser test (tests/e2e/test_page.py); Playwright drives it
# with executable_path, so `playwright install` (a download from a CDN) is never needed.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if ! command -v apt-get > /dev/null || [ "$(id -u)" != 0 ]; then
  echo "note: $CHROMIUM is missing and cannot be installed here (needs apt-get as root);" \
       "the browser test will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists only when the install cannot find the package without them.
apt-get install -y --no-install-recommends chromium \
  || { apt-get update && apt-get install -y --no-install-recommends chromium; }
