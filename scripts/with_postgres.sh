#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server:
#
#   scripts/with_postgres.sh .venv/bin/python -m pytest -x
#   scripts/with_postgres.sh psql -c 'select version()'
#
# Starts a fresh cluster (scripts/pg_test_server.sh start), exports CGH_DB_ENGINE=postgres,
# CGH_DB_HOST/PORT/NAME/USER/PASSWORD and PGHOST/PGPORT/PGUSER/PGDATABASE, runs the
# command, always stops the server and removes its data (even on failure or Ctrl-C),
# and exits with the command's status.
#
# Each invocation uses its own state file (var/pgtest.run-<pid>.env) and its own port,
# so concurrent runs and a manually started `pg_test_server.sh start` do not collide.
# If this script is killed with SIGKILL, the next `pg_test_server.sh start` reaps the
# orphaned server (its owner pid is recorded in the state file).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER="$ROOT/scripts/pg_test_server.sh"
STATE_FILE="$ROOT/var/pgtest.run-$$.env"

cleanup() {
    CGH_PGTEST_STATE="$STATE_FILE" "$SERVER" stop >/dev/null 2>&1 \
        || CGH_PGTEST_STATE="$STATE_FILE" "$SERVER" stop || true
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

CGH_PGTEST_STATE="$STATE_FILE" CGH_PGTEST_OWNER="$$" "$SERVER" start
# shellcheck disable=SC1090
. "$STATE_FILE"

status=0
"$@" || status=$?
exit "$status"
