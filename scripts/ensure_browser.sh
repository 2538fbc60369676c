#!/usr/bin/env bash
# Make sure Debian's Chromium (used by the Playwright browser tests through
# executable_path="/usr/bin/chromium") is installed. Idempotent and quiet when
# it already is. Installs with apt-get when run as root; otherwise explains
# what to install and exits non-zero.
#
#   scripts/ensure_browser.sh          # install if missing
#   CHROMIUM=/path/to/chromium scripts/ensure_browser.sh   # check another path
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
PACKAGES=(chromium fonts-dejavu-core)

have_fonts() {
    # fonts-dejavu-core only matters for readable screenshots; check it cheaply.
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]
}

if [ -x "$CHROMIUM" ] && have_fonts; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if [ -x "$CHROMIUM" ]; then
        # Browser present, only the fonts are missing: not fatal.
        echo "ensure_browser: note: fonts-dejavu-core is not installed (screenshots may be unreadable)." >&2
        echo "ensure_browser:   install it with: sudo apt-get install -y fonts-dejavu-core" >&2
        exit 0
    fi
    echo "ensure_browser: $CHROMIUM is missing and this is not root, so it cannot be installed here." >&2
    echo "ensure_browser: install Debian's Chromium with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y ${PACKAGES[*]}" >&2
    echo "ensure_browser: (do not use 'playwright install'; the tests use $CHROMIUM)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_browser: $CHROMIUM is missing and apt-get is not available; install Chromium at $CHROMIUM." >&2
    exit 1
fi

echo "ensure_browser: installing ${PACKAGES[*]} with apt-get (this can take a few minutes)..." >&2
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "ensure_browser: apt-get failed" >&2
    exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
    cat "$log" >&2
    echo "ensure_browser: apt-get succeeded but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "ensure_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium) in $(( $(date +%s) - start ))s" >&2
