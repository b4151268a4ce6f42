#!/usr/bin/env bash
# ctest entry of the browser tests (label "browser").  Skips with exit 77
# (ctest SKIP_RETURN_CODE) and a reason when Chromium, Node.js or the
# playwright-core package are missing: install them with
# `scripts/deps.sh --browser` and `npm ci --no-audit --no-fund` in
# tests/browser (scripts/test.sh does both).
set -u
here=$(cd "$(dirname "$0")" && pwd)
chromium=${LB_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "SKIP: no Chromium at $chromium (scripts/deps.sh --browser installs it)"
    exit 77
fi
if ! command -v node >/dev/null; then
    echo "SKIP: no Node.js (scripts/deps.sh --browser installs it)"
    exit 77
fi
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
    echo "SKIP: playwright-core is not installed; run: (cd tests/browser && npm ci --no-audit --no-fund)"
    exit 77
fi
exec python3 "$here/${1:-test_board.py}"
