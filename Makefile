# The two commands a newcomer needs are `make demo` and `make test`; the rest are their parts.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_DIR ?= var/demo
DEMO_YEAR ?= 2027
DEMO_HOUSEHOLDS ?= 400

# The test suite runs on PostgreSQL and Redis; these are their local defaults.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/enrollment
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: help install demo demo-data run worker beat test lint migrations-check check-deploy \
        pytest services browser-deps bench messages clean

help:
	@echo "make demo   set up and serve the product on http://$(HOST):$(PORT) with demo logins"
	@echo "make test   set up and run the whole suite on PostgreSQL and Redis"
	@echo "make run | worker | beat   serve, work the queues, run the schedules"
	@echo "make bench  run every benchmark at full scale (see docs/benchmarks.md)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Translations are committed compiled (.mo), so neither demo nor test needs gettext;
# run this after editing a .po file.
messages: install
	$(PY) manage.py compilemessages --ignore=.venv -v0

# --- the product ---------------------------------------------------------------------------
demo: install
	HOST=$(HOST) PORT=$(PORT) DEMO_DIR=$(DEMO_DIR) DEMO_YEAR=$(DEMO_YEAR) \
	  DEMO_HOUSEHOLDS=$(DEMO_HOUSEHOLDS) scripts/demo

run: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: install
	$(VENV)/bin/celery -A config worker -Q default,verification,allocation,exports,registry --loglevel INFO

beat: install
	$(VENV)/bin/celery -A config beat --loglevel INFO

# --- the checks ----------------------------------------------------------------------------
services:
	scripts/ensure-services

browser-deps:
	scripts/ensure-chromium

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# Each deployment's apps: the single one, the registry's (with its own accounts) and
# enrollment's (without the registry's tables).
migrations-check: install
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py makemigrations --check --dry-run
	DEPLOYMENT=registry DATABASE_URL=$(TEST_DATABASE_URL) \
	  $(PY) manage.py makemigrations --check --dry-run
	DEPLOYMENT=enrollment REGISTRY_GATEWAY=http DATABASE_URL=$(TEST_DATABASE_URL) \
	  $(PY) manage.py makemigrations --check --dry-run

check-deploy: install
	for file in deploy/production.env.example deploy/registry.env.example \
	    deploy/enrollment.env.example; do \
	  (set -a && source $$file && set +a && \
	    $(PY) manage.py check --deploy --fail-level WARNING) || exit 1; \
	done

pytest: install services browser-deps
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	  $(VENV)/bin/pytest

test: lint migrations-check check-deploy pytest

# Each benchmark prints one JSON line per case; docs/benchmarks.md lists exactly these and
# leads with the table bench/headline.py makes of the run's lines (var/bench/latest.jsonl).
BENCHMARKS := generate_district registry_import verification pipeline scoring allocation \
              export surge staff_pages forecast notifications
# The pipeline runs its in-process and HTTP cases in one alternated run.
BENCH_ARGS_pipeline := --gateway http
# Each benchmark creates (and drops) databases of its own next to this one, and its own Redis
# database numbers from this one.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
BENCH_BROKER_URL ?= redis://127.0.0.1:6379/14

bench: install services
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	mkdir -p var/bench
	echo '{"run": "make bench", "commit": "'$$(git rev-parse --short HEAD)'", "started": "'$$(date -u +%FT%TZ)'"}' > var/bench/latest.jsonl
	set -o pipefail; $(foreach name,$(BENCHMARKS),\
	  DATABASE_URL=$(BENCH_DATABASE_URL) CELERY_BROKER_URL=$(BENCH_BROKER_URL) \
	  $(PY) bench/$(name).py $(BENCH_ARGS_$(name)) | tee -a var/bench/latest.jsonl &&) true
	$(PY) bench/headline.py var/bench/latest.jsonl

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles .pytest_cache .ruff_cache
