# heatwatch — the usual targets. `make demo` and `make test` do all set-up on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install system-deps demo test unit integration lint format typecheck imports check \
        slow stack-up stack-down stack-status bench schema dashboards readme clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,stream]"
	@touch $(STAMP)

install: $(STAMP)

# Debian packages: a CJK TrueType font for the PDF reports; pkg-config for the
# InfluxDB build (libflux). Installed only when missing.
system-deps:
	@bash deploy/system-deps.sh

demo: install
	$(BIN)/heatwatch demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

check: lint typecheck imports

# Unit tests in two tiers (pyproject.toml markers): `make unit` is the fast one (pure, in
# process, no I/O beyond temporary files); `make slow` the slower one (fleet simulations run
# several times, large Hypothesis searches, Go and kubectl subprocesses, loopback servers).
# `make test` runs both, and the integration tests.
unit: install
	$(BIN)/pytest tests/unit -m "not slow"

slow: install
	$(BIN)/pytest tests/unit -m slow

# Heat networks over a whole simulated season (issue 20): minutes, on demand. Smaller:
# HEATWATCH_HEAT_SEASON_HOUSEHOLDS=... HEATWATCH_HEAT_SEASON_DAYS=... make test-heat-season
test-heat-season: install
	HEATWATCH_HEAT_SEASON=1 $(BIN)/pytest tests/unit/streams/test_heat_season.py

# Tests that need Kafka and InfluxDB run with the local stack up: started if it is not
# running (and stopped again afterwards), reused if it is.
integration: install system-deps
	bash deploy/stack/with-stack.sh $(BIN)/pytest tests/integration

test: install system-deps check
	bash deploy/stack/with-stack.sh $(BIN)/pytest

stack-up: system-deps
	bash deploy/stack/stack.sh up

stack-down:
	bash deploy/stack/stack.sh down

stack-status:
	bash deploy/stack/stack.sh status

bench: install
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_simulator.py
	$(BIN)/python bench/bench_report.py

schema: install
	$(BIN)/heatwatch schema --out docs/schemas

dashboards: install
	$(BIN)/python -m dashboards.generate

# README.md's architecture section, from the module map in docs/architecture.md (a unit test
# fails when they differ: tests/unit/docs/test_architecture_map.py).
readme: install
	$(BIN)/python -m tests.unit.docs.architecture_map

clean:
	rm -rf demo-out .pytest_cache .mypy_cache .ruff_cache
