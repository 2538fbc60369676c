#!/usr/bin/env bash
# Make sure the test OpenID Connect provider (scripts/oidc: the npm package oidc-provider, pinned by
# its package-lock.json) is installed, for the single sign-on tests. Idempotent and quiet when it
# is. Needs Node.js 18 or later with npm; installs Debian's nodejs and npm with apt-get when run as
# root and they are missing, otherwise explains what to install and exits non-zero.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/oidc" && pwd)"
stamp="$dir/node_modules/.installed"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure_oidc_provider: Node.js and npm are needed by the single sign-on tests (a real OpenID" >&2
        echo "ensure_oidc_provider: provider runs on loopback). Install them, e.g.: sudo apt-get install -y nodejs npm" >&2
        exit 1
    fi
    echo "ensure_oidc_provider: installing nodejs and npm with apt-get..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 18 ]; then
    echo "ensure_oidc_provider: Node.js $(node --version) is too old; 18 or later is needed." >&2
    exit 1
fi

if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
    exit 0
fi
echo "ensure_oidc_provider: npm ci in scripts/oidc..." >&2
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
touch "$stamp"
