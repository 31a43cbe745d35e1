# The two commands of the README:
#   make run   - set up, migrate, seed the demo tenant, serve on http://127.0.0.1:8000 (SQLite)
#   make test  - set up and run the whole suite (DATABASE_URL picks PostgreSQL)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# make check - the habits CI keeps: lint and format (ruff), types (mypy), import contracts (import-linter)
.PHONY: check run test schema venv clean chromium redis postgres-tools bench-fairness graphiql-assets bench bench-import bench-orders-list bench-events bench-live bench-erasure bench-export bench-dashboard dashboard-assets soak

venv: $(INSTALLED)

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: venv
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	DEBUG=1 LOG_FORMAT=plain $(BIN)/python manage.py runserver 127.0.0.1:8000

# The suite runs in parallel (pytest-xdist): one worker per core and one more, because about a third
# of the suite's wall time is tests waiting (a NATS restart, a token's expiry, Chromium, Node), which
# the extra worker overlaps; each worker has its own test database, and an idle worker steals queued
# tests from a busy one. `-n 0` for one process. Bytecode is kept (__pycache__, ignored by git) even
# where the environment sets PYTHONDONTWRITEBYTECODE: the tests' own subprocesses then start faster.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: venv chromium redis postgres-tools
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The admin browser test drives Debian's Chromium (never a downloaded one); the document tests read
# PDFs back with poppler-utils (pdftotext, pdftoppm), which print in DejaVu Sans (fonts-dejavu-core).
chromium:
	@( test -x /usr/bin/chromium && test -x /usr/bin/pdftotext && test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ) || \
	  ( export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium poppler-utils fonts-dejavu-core >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium poppler-utils fonts-dejavu-core >/dev/null) ) || \
	  echo "chromium or poppler-utils could not be installed: the browser and PDF read-back tests will be skipped"

# The admission tests start a Redis server of their own (Debian's redis-server).
redis:
	@command -v redis-server >/dev/null || ( export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q redis-server >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null) )

# The pooler and failover tests run a PgBouncer and a pg_auto_failover formation of their own
# (Debian's pgbouncer and postgresql-15-auto-failover).
postgres-tools:
	@( test -x /usr/sbin/pgbouncer && test -x /usr/bin/pg_autoctl ) || ( export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q pgbouncer postgresql-15-auto-failover >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q pgbouncer postgresql-15-auto-failover >/dev/null) ) || \
	  echo "pgbouncer or pg_auto_failover could not be installed: the pooler and failover tests will be skipped"

# Rewrite schema.graphql after changing the API (a test fails while it is stale).
schema: venv
	DEBUG=1 $(BIN)/python manage.py graphql_schema --schema oms_project.schema.schema --out schema.graphql

# Refresh GraphiQL's served builds from the pins in oms_project/graphiql/package.json (npm registry);
# the copies under oms_project/static/graphiql/vendor are committed, so nothing runs npm at setup.
graphiql-assets: venv
	cd oms_project/graphiql && npm ci --no-audit --no-fund
	$(BIN)/python oms_project/graphiql/vendor.py

# The admin dashboard's server time for a tenant of 1,000,000 orders (BENCH_DASHBOARD_ORDERS=...).
bench-dashboard: venv
	$(BIN)/python bench/dashboard.py

# Refresh the dashboard's Chart.js build from the pin in oms_project/charts/package.json (npm registry);
# the copy under oms_project/static/dashboard/vendor is committed, so nothing runs npm at setup.
dashboard-assets: venv
	cd oms_project/charts && npm ci --no-audit --no-fund
	$(BIN)/python oms_project/charts/vendor.py

# 100,000 product rows through import_snapshots (DATABASE_URL picks PostgreSQL).
bench-import: venv
	$(BIN)/python bench/import_snapshots.py

# The orders page at 10,000 and 100,000 orders per tenant (BENCH_SIZES=...,1000000 for more).
BENCH_PG ?= postgres://postgres@127.0.0.1:5432/oms_bench_list
bench-orders-list: venv
	DATABASE_URL=$(BENCH_PG) $(BIN)/python bench/orders_list.py

# The performance benchmark (PostgreSQL, gunicorn, pgbench; docs/performance.md).
bench: venv
	$(BIN)/python bench/lifecycle.py

# The noisy-neighbour benchmark: a quiet tenant's latency while another tenant floods (PostgreSQL,
# gunicorn.conf.py defaults), a refusal's CPU, and the relay's fairness (docs/performance.md).
bench-fairness: venv
	$(BIN)/python bench/fairness.py

# Order events out (PostgreSQL, the NATS on 127.0.0.1:4222): webhook and stream events/s, and the
# outbox lag under the lifecycle load (docs/performance.md).
bench-events: venv
	$(BIN)/python bench/events.py

# Live order status: 2,000 subscriptions on one ASGI process while lifecycles run (PostgreSQL;
# BENCH_LIVE_SOURCE=stream reads the NATS stream on BENCH_NATS; docs/performance.md).
bench-live: venv
	$(BIN)/python bench/live.py

# `manage.py export_orders` over 1,000,000 orders: time and peak memory (BENCH_EXPORT_ORDERS=...).
bench-export: venv
	$(BIN)/python bench/export.py

# Erasing a customer with 1,000 orders next to another tenant's checkout (docs/performance.md).
bench-erasure: venv
	$(BIN)/python bench/erasure.py

# The whole stack under steady load for SOAK_SECONDS (300): no 5xx, flat worker memory, every event
# delivered and the backlog drained at the end (PostgreSQL; docs/performance.md).
soak: venv
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
