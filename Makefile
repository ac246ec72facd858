# Chung Tay: two commands matter — `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint typecheck migrate bench clean-data help

help:
	@echo "make run    - start the whole platform (embedded PostgreSQL + NATS unless DATABASE_URL / NATS_URL are set)"
	@echo "make test   - run the full test suite against real PostgreSQL and NATS"
	@echo "make fuzz   - schemathesis against the whole platform through the gateway, FUZZ_SECONDS per account (default 900)"
	@echo "make lint   - ruff;  make typecheck - mypy;  make bench - print the platform figures"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	exec $(PY) -m devstack.run

test: $(STAMP)
	bash devstack/ensure_tools.sh
	$(PY) -m pytest $(PYTEST_ARGS)

# Schemathesis through the gateway of the whole platform, as each kind of account, with a new random seed.
FUZZ_SECONDS ?= 900
fuzz: $(STAMP)
	CHUNGTAY_FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) -m pytest -q tests/e2e/test_api_fuzz.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy shared services gateway devstack

bench: $(STAMP)
	bash devstack/ensure_tools.sh
	$(PY) -m bench.events

clean-data:
	rm -rf .data
