# One target per habit. `make run` and `make test` work on a fresh machine: they install
# what is missing (uv, the virtual environment, the Kafka jars) first.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo uv)

.PHONY: install run up down status test test-unit lint typecheck schemas bench store-rs clean

install:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	uv sync --frozen
	uv run hotich infra fetch
	@command -v chromium >/dev/null 2>&1 || command -v /usr/bin/chromium >/dev/null 2>&1 || \
		{ command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
		  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		  echo "chromium missing: the dashboard test needs Debian's chromium package"; }

run: install            ## the whole system locally, embedded defaults
	uv run hotich up

up: run

down:
	uv run hotich down

status:
	uv run hotich status

test: install           ## lint, types, then every test: unit, contracts, integration, end-to-end
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy
	uv run pytest

test-unit:
	uv run pytest -m "not integration and not e2e"

lint:
	uv run ruff check .
	uv run ruff format --check .

typecheck:
	uv run mypy

BENCH_RECORDS ?= 30000

bench: install          ## end-to-end benchmark on a fresh local stack: bench/results/e2e.{json,png}
	uv run hotich bench --records $(BENCH_RECORDS) --out bench/results/e2e.json --plot bench/results/e2e.png

store-rs: install       ## build secantusd-rs, the Rust SecantusDB (cargo; minutes): HOTICH_STORE_SERVER=secantusd-rs
	uv run hotich infra build-store-rs

schemas:               ## regenerate JSON Schema and AsyncAPI from contracts/
	uv run python -m hotich_contracts.schema_gen

clean:
	rm -rf .hotich .pytest_cache .mypy_cache .ruff_cache
