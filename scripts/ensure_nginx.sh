#!/usr/bin/env bash
# Make sure Debian's nginx (the load balancer of the scale-out test, scripts/scaleout.py) is
# installed. Idempotent and quiet when it already is. Installs with apt-get when run as root
# (without starting the system's nginx service); otherwise explains what to install and exits
# non-zero.
set -euo pipefail

NGINX="${NGINX:-/usr/sbin/nginx}"
[ -x "$NGINX" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_nginx: $NGINX is missing; install it with: sudo apt-get install -y nginx" >&2
    exit 1
fi

echo "ensure_nginx: installing nginx with apt-get..." >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# RUNLEVEL=1: the package's scripts do not start the system service (the test runs its own).
if ! { apt-get update -qq && RUNLEVEL=1 apt-get install -y -qq --no-install-recommends nginx; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "ensure_nginx: apt-get failed" >&2
    exit 1
fi
[ -x "$NGINX" ] || { cat "$log" >&2; echo "ensure_nginx: $NGINX is still missing" >&2; exit 1; }
echo "ensure_nginx: installed $("$NGINX" -v 2>&1)" >&2
