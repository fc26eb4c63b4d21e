# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 2
# Test processes (pytest-xdist); 0 runs the suite in this process.
TEST_WORKERS ?= 2

.PHONY: run test lint bench clean

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Set up everything and serve the app with SQLite and demo data.
# Emailed and printed links name the address the app is served on, unless TRUSTWEB_BASE_URL says otherwise.
run: export TRUSTWEB_BASE_URL ?= http://$(HOST):$(PORT)
run: SHELL := /bin/bash
run: $(VENV)/.runtime
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi trustweb demo --first-run
	@echo ""
	@echo "  TrustWeb is running at http://$(HOST):$(PORT), with its worker  (Ctrl+C stops both)"
	@test -n "$$TRUSTWEB_MAIL_SERVER" || echo "  No mail server is set up (TRUSTWEB_MAIL_SERVER): emails wait in the Outbox page, where you can read them."
	@echo ""
	@# The worker (mail, reminders, schedules) beside gunicorn. The worker runs in its own session so that Ctrl+C
	@# reaches only gunicorn and this shell, which then asks the worker to stop after its current email (one
	@# SIGTERM); when either of the two stops, the other is stopped too.
	@setsid $(BIN)/flask --app wsgi trustweb worker & worker=$$!; \
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile - wsgi:app & server=$$!; \
	trap 'kill -TERM $$server $$worker 2>/dev/null; wait $$server $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	wait -n $$server $$worker

## Set up and run the whole test suite (SQLite unless TRUSTWEB_TEST_DATABASE_URL says otherwise).
test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

## Style, formatting and types (also run by `make test`); mypy reads its settings from pyproject.toml.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.dev
	$(BIN)/python bench/bench_lists.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
