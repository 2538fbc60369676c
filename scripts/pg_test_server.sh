#!/usr/bin/env bash
# Throw-away PostgreSQL server for the test suite.
#
#   scripts/pg_test_server.sh start    # fresh cluster in a temp dir, on 127.0.0.1, first free port >= 54329
#   scripts/pg_test_server.sh env      # print the export lines (eval "$(scripts/pg_test_server.sh env)")
#   scripts/pg_test_server.sh status   # is the recorded server running?
#   scripts/pg_test_server.sh stop     # stop it and delete its temp dir
#   scripts/pg_test_server.sh stop --all   # same for every state file under var/ (used by `make clean`)
#
# The cluster is for tests only: trust authentication on loopback and on its own unix
# socket (inside the temp dir), fsync/synchronous_commit/full_page_writes off.
# Role `cgh` (superuser, so Django's test runner can create and drop test databases and
# extensions) and database `cgh` are created.
#
# State lives in a small shell file, var/pgtest.env by default (override with
# CGH_PGTEST_STATE=/path). It holds the export lines (CGH_DB_*, PG*, CGH_PGTEST_*).
# A `start` over an existing state file first stops and removes what that file
# describes (a crashed earlier run), then starts a fresh cluster.
#
# Safety: this script only ever acts on data directories it created itself: a temp
# dir named cgh-pgtest.* that contains the marker file .cgh-pgtest. It never uses
# the default port 5432, the system socket directory or any other cluster.
#
# Environment knobs:
#   CGH_PGTEST_STATE      state file (default: <repo>/var/pgtest.env)
#   CGH_PGTEST_OWNER      pid of the process owning this server (set by with_postgres.sh);
#                         a state file whose owner is dead is reaped by the next `start`
#   CGH_PGTEST_PORT_BASE  first port to try (default 54329); 100 ports are tried
#   CGH_PGTEST_TMPROOT    where the temp dir is created (default /tmp; keep it short,
#                         the unix socket path must stay under 107 bytes)
#   PG_BINDIR             directory with initdb/pg_ctl/postgres (default: found automatically)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${CGH_PGTEST_STATE:-$ROOT/var/pgtest.env}"
PORT_BASE="${CGH_PGTEST_PORT_BASE:-54329}"
PORT_TRIES=100
TMPROOT="${CGH_PGTEST_TMPROOT:-/tmp}"
MARKER=".cgh-pgtest"
DB_NAME=cgh
DB_USER=cgh
START_TIMEOUT=60

log() { echo "pg_test_server: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --------------------------------------------------------------------------- binaries

# Directory holding initdb, pg_ctl and postgres of one and the same version.
find_bindir() {
    local d candidate
    if [ -n "${PG_BINDIR:-}" ]; then
        [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ] && [ -x "$PG_BINDIR/postgres" ] \
            || die "PG_BINDIR=$PG_BINDIR does not contain initdb, pg_ctl and postgres"
        echo "$PG_BINDIR"
        return
    fi
    # 1. initdb on the PATH (resolving symlinks such as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb).
    if candidate="$(command -v initdb 2>/dev/null)"; then
        d="$(dirname "$(readlink -f "$candidate")")"
        if [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return
        fi
    fi
    # 2. Debian/Ubuntu layout, highest version first.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return
        fi
    done
    # 3. Other common layouts.
    for d in /usr/pgsql-*/bin /usr/local/pgsql/bin /opt/homebrew/opt/postgresql*/bin /usr/local/opt/postgresql*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return
        fi
    done
    die "PostgreSQL server binaries not found (initdb/pg_ctl/postgres on PATH or under /usr/lib/postgresql/*/bin); set PG_BINDIR"
}

# A client tool, preferably from the server's own bin dir.
client_tool() {
    local bindir="$1" name="$2"
    if [ -x "$bindir/$name" ]; then
        echo "$bindir/$name"
    elif command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
    else
        die "$name not found (looked in $bindir and on PATH)"
    fi
}

# --------------------------------------------------------------------------- running as the server user

if [ "$(id -u)" -eq 0 ]; then
    PG_OS_USER=postgres
    id -u "$PG_OS_USER" >/dev/null 2>&1 || die "running as root but there is no '$PG_OS_USER' system user to run the server"
else
    PG_OS_USER="$(id -un)"
fi

# Run a command as the server's OS user, from a directory it can read.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u "$PG_OS_USER" -- "$@")
        else
            local q
            q="$(printf '%q ' "$@")"
            (cd / && su "$PG_OS_USER" -s /bin/sh -c "$q")
        fi
    else
        (cd / && "$@")
    fi
}

# --------------------------------------------------------------------------- state files

# Read KEY from a state file without executing it.
state_get() {
    local file="$1" key="$2" line value
    line="$(grep -E "^export ${key}=" "$file" 2>/dev/null | tail -n 1)" || return 0
    value="${line#export "${key}"=}"
    # Values are written with printf %q; they never contain quotes or spaces in practice
    # (temp paths, numbers, names), so stripping a %q quoting layer is enough.
    value="${value#\'}"
    value="${value%\'}"
    printf '%s' "$value"
}

pid_alive() { [ -n "${1:-}" ] && [ "$1" -gt 0 ] 2>/dev/null && kill -0 "$1" 2>/dev/null; }

# Is DIR a temp dir created by this script?
is_our_dir() {
    local dir="$1"
    [ -n "$dir" ] && [ -d "$dir" ] && [ -f "$dir/$MARKER" ] && case "$(basename "$dir")" in cgh-pgtest.*) true ;; *) false ;; esac
}

# Stop the server described by a state file (if still running) and remove its temp dir and the file.
teardown_state() {
    local file="$1" dir data bindir pid pidfile
    [ -f "$file" ] || return 0
    dir="$(state_get "$file" CGH_PGTEST_DIR)"
    data="$(state_get "$file" CGH_PGTEST_DATA)"
    bindir="$(state_get "$file" CGH_PGTEST_BINDIR)"
    pid="$(state_get "$file" CGH_PGTEST_PID)"
    if ! is_our_dir "$dir"; then
        if [ -n "$dir" ] && [ -e "$dir" ]; then
            log "warning: $file points to $dir, which this script did not create; leaving it alone"
        fi
        rm -f "$file"
        return 0
    fi
    case "$data" in "$dir"/*) ;; *) data="$dir/data" ;; esac
    [ -x "$bindir/pg_ctl" ] || bindir="$(find_bindir)"
    pidfile="$data/postmaster.pid"
    if [ -f "$pidfile" ]; then
        pid="$(head -n 1 "$pidfile" 2>/dev/null || echo "$pid")"
        if pid_alive "$pid"; then
            log "stopping server pid $pid (data $data)"
            if ! as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null 2>&1; then
                log "fast shutdown failed, trying immediate"
                as_pg "$bindir/pg_ctl" stop -D "$data" -m immediate -w -t 30 >/dev/null 2>&1 || true
            fi
        fi
    fi
    # Last resort: the recorded postmaster is still alive (e.g. its data dir was tampered with).
    # Only kill it if its command line names our data directory.
    if pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$data"; then
        log "killing leftover postmaster $pid"
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.1; done
        pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf -- "$dir"
    rm -f "$file"
}

# --------------------------------------------------------------------------- ports

port_free() {
    local port="$1"
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
    else
        # Fallback: something accepting connections means the port is taken.
        ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

# --------------------------------------------------------------------------- commands

# Globals (not locals) because the EXIT trap of cmd_start needs them.
dir="" data="" pg_ctl="" started=0

cmd_start() {
    local bindir initdb psql pg_isready port tries=0 version
    bindir="$(find_bindir)"
    initdb="$bindir/initdb"
    pg_ctl="$bindir/pg_ctl"
    psql="$(client_tool "$bindir" psql)"
    pg_isready="$(client_tool "$bindir" pg_isready)"
    version="$("$bindir/postgres" --version 2>/dev/null || echo postgres)"

    mkdir -p "$(dirname "$STATE")"

    # Reap servers left behind by crashed with_postgres.sh runs (owner process gone).
    local f owner
    for f in "$(dirname "$STATE")"/pgtest*.env; do
        [ -f "$f" ] || continue
        [ "$f" -ef "$STATE" ] && continue
        owner="$(state_get "$f" CGH_PGTEST_OWNER)"
        if [ -n "$owner" ] && ! pid_alive "$owner"; then
            log "reaping stale test server from $f (owner $owner is gone)"
            teardown_state "$f"
        fi
    done
    # A previous server recorded in our own state file: stop it, we always start fresh.
    if [ -f "$STATE" ]; then
        log "found previous state file $STATE; stopping what it describes first"
        teardown_state "$STATE"
    fi

    dir="$(mktemp -d "$TMPROOT/cgh-pgtest.XXXXXX")"
    touch "$dir/$MARKER"
    data="$dir/data"
    # Clean up the temp dir if anything below fails.
    trap 'if [ "$started" != 1 ]; then as_pg "$pg_ctl" stop -D "$data" -m immediate >/dev/null 2>&1 || true; rm -rf -- "$dir"; fi' EXIT
    if [ "$(id -u)" -eq 0 ]; then
        chown "$PG_OS_USER:" "$dir"
    fi
    chmod 700 "$dir"

    log "initdb ($version) in $data"
    if ! as_pg "$initdb" -D "$data" -U postgres -E UTF8 --locale=C -A trust --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    # Trust, but only on our own unix socket and on IPv4 loopback.
    cat >"$data/pg_hba.conf" <<EOF
# cgh throw-away test cluster: trust on the private unix socket and 127.0.0.1 only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
    cat >>"$data/postgresql.conf" <<EOF

# ---- cgh test settings (scripts/pg_test_server.sh) ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
log_min_messages = warning
log_timezone = 'UTC'
timezone = 'UTC'
EOF
    if [ "$(id -u)" -eq 0 ]; then
        chown "$PG_OS_USER:" "$data/pg_hba.conf"
    fi

    port="$PORT_BASE"
    while [ "$tries" -lt "$PORT_TRIES" ]; do
        tries=$((tries + 1))
        if port_free "$port"; then
            if as_pg "$pg_ctl" start -D "$data" -l "$dir/postgres.log" -o "-p $port" -w -t "$START_TIMEOUT" \
                >"$dir/pg_ctl.log" 2>&1; then
                started=1
                break
            fi
            # Lost a race for the port, or a real failure: look at the log.
            if grep -q "could not bind\|Address already in use" "$dir/postgres.log" 2>/dev/null; then
                log "port $port was taken meanwhile, trying the next one"
                as_pg "$pg_ctl" stop -D "$data" -m immediate >/dev/null 2>&1 || true
            else
                cat "$dir/pg_ctl.log" >&2 || true
                tail -n 30 "$dir/postgres.log" >&2 || true
                die "the server did not start"
            fi
        fi
        port=$((port + 1))
    done
    [ "$started" = 1 ] || die "no free port in $PORT_BASE..$((PORT_BASE + PORT_TRIES - 1)) on 127.0.0.1"
    started=0 # until fully set up, a failure must still tear the server down

    # pg_ctl -w already waited; double-check over TCP, as clients will connect.
    local waited=0
    until "$pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres; do
        waited=$((waited + 1))
        [ "$waited" -le $((START_TIMEOUT * 10)) ] || { tail -n 30 "$dir/postgres.log" >&2; die "server not ready after ${START_TIMEOUT}s"; }
        sleep 0.1
    done

    "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres >/dev/null <<SQL
CREATE ROLE $DB_USER LOGIN SUPERUSER CREATEDB;
CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8' TEMPLATE template0;
SQL

    local pid
    pid="$(head -n 1 "$data/postmaster.pid")"
    local tmp="$STATE.tmp.$$"
    {
        echo "# Written by scripts/pg_test_server.sh start on $(date -u +%Y-%m-%dT%H:%M:%SZ); source it or eval it."
        printf 'export CGH_DB_ENGINE=%q\n' postgres
        printf 'export CGH_DB_HOST=%q\n' 127.0.0.1
        printf 'export CGH_DB_PORT=%q\n' "$port"
        printf 'export CGH_DB_NAME=%q\n' "$DB_NAME"
        printf 'export CGH_DB_USER=%q\n' "$DB_USER"
        printf 'export CGH_DB_PASSWORD=%q\n' ""
        printf 'export PGHOST=%q\n' 127.0.0.1
        printf 'export PGPORT=%q\n' "$port"
        printf 'export PGUSER=%q\n' "$DB_USER"
        printf 'export PGDATABASE=%q\n' "$DB_NAME"
        printf 'export CGH_PGTEST_DIR=%q\n' "$dir"
        printf 'export CGH_PGTEST_DATA=%q\n' "$data"
        printf 'export CGH_PGTEST_BINDIR=%q\n' "$bindir"
        printf 'export CGH_PGTEST_PID=%q\n' "$pid"
        printf 'export CGH_PGTEST_OWNER=%q\n' "${CGH_PGTEST_OWNER:-}"
    } >"$tmp"
    mv -f "$tmp" "$STATE"
    started=1
    trap - EXIT
    log "ready: $version on 127.0.0.1:$port (pid $pid, data $data); env in $STATE"
}

cmd_env() {
    [ -f "$STATE" ] || die "no state file $STATE (run: scripts/pg_test_server.sh start)"
    grep -E '^export ' "$STATE"
}

cmd_status() {
    [ -f "$STATE" ] || { log "not running (no state file $STATE)"; return 3; }
    local data bindir
    data="$(state_get "$STATE" CGH_PGTEST_DATA)"
    bindir="$(state_get "$STATE" CGH_PGTEST_BINDIR)"
    if [ -d "$data" ] && as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
        log "running on 127.0.0.1:$(state_get "$STATE" CGH_DB_PORT) (data $data)"
    else
        log "not running (stale state file $STATE)"
        return 3
    fi
}

cmd_stop() {
    if [ "${1:-}" = "--all" ]; then
        local f
        for f in "$(dirname "$STATE")"/pgtest*.env; do
            [ -f "$f" ] && teardown_state "$f"
        done
        return 0
    fi
    if [ ! -f "$STATE" ]; then
        log "nothing to stop (no state file $STATE)"
        return 0
    fi
    teardown_state "$STATE"
    log "stopped"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) shift; cmd_stop "$@" ;;
    env) cmd_env ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 {start|stop [--all]|env|status}" >&2
        exit 2
        ;;
esac
