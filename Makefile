# Development and test entry points for the Collège de garantie humaine.
#
#   make demo                       # SQLite demo on http://127.0.0.1:8000/
#   make prod ENV_FILE=deploy/env   # gunicorn + task worker with production settings
#   make test                       # whole suite on SQLite, then on a throw-away PostgreSQL
#   make test PYTEST_ARGS="-x -k foo"
#   make test-sqlite / make test-postgres   # one half only
#   make lint / make bench / make clean
#   make fuzz                       # schemathesis against the served schema, throw-away SQLite demo
#   make fuzz-postgres              # the same on a throw-away PostgreSQL
#
# Only python3 is needed from a fresh clone (plus, for `test`, PostgreSQL server binaries
# and Chromium, which scripts/ensure_browser.sh installs with apt-get when run as root,
# and gettext's msgfmt once .po files exist).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PY := .venv/bin/python
PYTEST := $(PY) -m pytest
PYTEST_ARGS ?=
DEMO_ENV := DJANGO_SETTINGS_MODULE=config.settings.local CGH_DB_ENGINE=sqlite
DEMO_ADDR := 127.0.0.1:8000

.PHONY: help venv messages demo prod browser oidc-provider test test-sqlite test-postgres test-scaleout lint bench fuzz fuzz-postgres clean

help:
	@echo "Targets:"
	@echo "  venv           create .venv and install the project with its test extras"
	@echo "  messages       compile the translation catalogues (.po -> .mo)"
	@echo "  demo           migrate, load the demo data, collect static files, run on http://$(DEMO_ADDR)/"
	@echo "                 with the task worker beside the web server (Ctrl-C stops both)"
	@echo "  prod           production: gunicorn and the task worker (ENV_FILE=..., see deploy/env.example)"
	@echo "  test           whole test suite on SQLite, then on a throw-away PostgreSQL (PYTEST_ARGS=...)"
	@echo "  test-sqlite    SQLite half only"
	@echo "  test-postgres  PostgreSQL half only"
	@echo "  test-scaleout  two app servers, one worker and nginx on a throw-away PostgreSQL (about a minute)"
	@echo "  lint           ruff check . and the import contracts (lint-imports)"
	@echo "  bench          run the benchmarks in bench/ on SQLite (see README)"
	@echo "  bench-load     load benchmark: reviewers through the API on gunicorn + PostgreSQL (LOAD_ARGS=...)"
	@echo "  fuzz           fuzz every API operation of a throw-away demo, fail on any 500 (FUZZ_ARGS=...)"
	@echo "  fuzz-postgres  the same on a throw-away PostgreSQL"
	@echo "  clean          stop leftover test servers, remove var/ and .venv"

# ---------------------------------------------------------------- environment

venv: .venv/.installed

$(PY):
	python3 -m venv .venv

# Re-installs only when pyproject.toml is newer than the stamp.
.venv/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Compile the project's own catalogues (backend/**/locale); nothing to do until a .po exists.
messages: venv
	@if [ -z "$$(find backend -name '*.po' -path '*/locale/*' -not -path '*/.venv/*' -print -quit)" ]; then \
		echo "messages: no .po file yet, nothing to compile"; \
	elif ! command -v msgfmt >/dev/null 2>&1; then \
		echo "messages: msgfmt not found; install GNU gettext (Debian: apt-get install gettext)" >&2; exit 1; \
	else \
		cd backend && ../$(PY) manage.py compilemessages --ignore=.venv; \
	fi

browser:
	@scripts/ensure_browser.sh

# ---- single sign-on tests: the OpenID provider they start on loopback (npm ci in scripts/oidc)
oidc-provider:
	@scripts/ensure_oidc_provider.sh

# ---------------------------------------------------------------- demo

demo: venv messages
	@mkdir -p var
	$(DEMO_ENV) $(PY) backend/manage.py migrate --noinput
	$(DEMO_ENV) $(PY) backend/manage.py load_demo
	$(DEMO_ENV) $(PY) backend/manage.py collectstatic --noinput --verbosity 0
	@echo
	@echo "Demo running on http://$(DEMO_ADDR)/ with its task worker (Ctrl-C stops both)"
	@echo
	$(DEMO_ENV) $(PY) scripts/serve.py demo --addr $(DEMO_ADDR)

# ---------------------------------------------------------------- production

# Production on this machine: checks the environment (ENV_FILE, see deploy/env.example), runs
# Django's deployment checks, migrates, collects static files, then gunicorn
# (deploy/gunicorn.conf.py) and the task worker; Ctrl-C or SIGTERM stops both.
ENV_FILE ?=
prod: venv messages
	$(PY) scripts/serve.py prod $(if $(ENV_FILE),--env-file $(ENV_FILE))

# ---------------------------------------------------------------- tests

# Both halves always run (unless interrupted with Ctrl-C); fails if either fails.
test: venv messages browser oidc-provider lint
	@trap 'exit 130' INT TERM; sqlite=0; postgres=0; \
	echo "==> [1/3] whole test suite on SQLite"; \
	CGH_DB_ENGINE=sqlite $(PYTEST) $(PYTEST_ARGS) || sqlite=$$?; \
	echo "==> [2/3] whole test suite on PostgreSQL"; \
	scripts/with_postgres.sh $(PYTEST) $(PYTEST_ARGS) || postgres=$$?; \
	echo "==> [3/3] scale-out: two application servers, one worker, nginx"; \
	scaleout=0; scripts/with_postgres.sh $(PY) scripts/scaleout.py || scaleout=$$?; \
	verdict() { if [ "$$1" = 0 ]; then echo passed; else echo "FAILED (exit $$1)"; fi; }; \
	echo "==> SQLite: $$(verdict $$sqlite); PostgreSQL: $$(verdict $$postgres); scale-out: $$(verdict $$scaleout)"; \
	[ "$$sqlite" = 0 ] && [ "$$postgres" = 0 ] && [ "$$scaleout" = 0 ]

test-sqlite: venv messages browser oidc-provider
	CGH_DB_ENGINE=sqlite $(PYTEST) $(PYTEST_ARGS)

test-postgres: venv messages browser oidc-provider
	scripts/with_postgres.sh $(PYTEST) $(PYTEST_ARGS)

# ---- Scale-out test (no shared filesystem between processes) ----
# Two gunicorn servers and a db_worker, each in its own working directory, behind nginx
# (scripts/ensure_nginx.sh installs Debian's package when missing), on a throw-away PostgreSQL.
test-scaleout: venv messages
	scripts/with_postgres.sh $(PY) scripts/scaleout.py

# ---------------------------------------------------------------- misc

# ruff (style, and no import inside a function unless a comment says why), then the contracts of
# the apps' dependency graph ([tool.importlinter] in pyproject.toml).
lint: venv
	$(PY) -m ruff check .
	PYTHONPATH=backend .venv/bin/lint-imports --no-cache

bench: venv
	$(PY) bench/run.py
	$(PY) bench/sampling_bench.py
	$(PY) bench/import_bench.py
	$(PY) bench/dashboard_bench.py

# ---------------------------------------------------------------- load benchmark
# Reviewers' loop through the API with quality and management readers beside them, against
# gunicorn (3 workers) on a throw-away PostgreSQL: p50/p95/p99 per request type at 50 and 200
# users, about 10 minutes (bench/load_bench.py; LOAD_ARGS="--users 50 --repeat 1" for less).
LOAD_ARGS ?=
.PHONY: bench-load
bench-load: venv messages
	scripts/with_postgres.sh $(PY) bench/load_bench.py $(LOAD_ARGS)

# Bounded property-based fuzzing of every API operation (scripts/fuzz.py): a throw-away database
# with the demo, served with the test settings on a free loopback port, fuzzed by schemathesis
# as the quality manager and as a clinician reviewer; fails on any 500. About 9 minutes on two
# cores, so not part of `make test`. FUZZ_ARGS="--max-examples 10 --users clinicien" for less.
FUZZ_ARGS ?=
fuzz: venv
	$(PY) scripts/fuzz.py $(FUZZ_ARGS)

fuzz-postgres: venv
	scripts/with_postgres.sh $(PY) scripts/fuzz.py $(FUZZ_ARGS)

clean:
	-@scripts/pg_test_server.sh stop --all
	rm -rf var .venv
