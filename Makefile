# homefeed — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOMEFEED_DATA_DIR ?= homefeed-data
export HOMEFEED_DATA_DIR
DATA ?=
PRESET ?=

.PHONY: demo test install chromium lint typecheck bench clean vendor

## Set up everything, load demo data (synthetic, or DATA=path/to/movielens), train, serve on :8000.
## PRESET=ecommerce|news|video|education: that kind of site, with synthetic data of its kind.
demo: install
	$(BIN)/homefeed demo $(if $(DATA),--data "$(DATA)",) $(if $(PRESET),--preset $(PRESET),)

## Install (with dev tools), then run the whole suite: SQLite, PostgreSQL and browser tests.
test: install chromium
	$(BIN)/python -m pytest

install: $(VENV)/.installed

# torch first: the pinned CPU build lies on local disk; a looser pin would pull a CUDA build.
# constraints.txt: the versions the suite and benchmarks were run with (numbers depend on them).
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c constraints.txt
	touch $@

## Debian's chromium for the browser test (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

## ruff (lint and format) and the layers' import contract (pyproject.toml, [tool.importlinter]).
lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

## Benchmarks print tables; copy them into docs/benchmarks.md with date, machine and command.
bench: install
	$(BIN)/python benchmarks/serve.py

## Fetch the dashboard's chart library again from the npm registry (it is committed, so no
## set-up needs npm); the checksum must match the one in static/vendor/README.md.
CHARTJS := 4.6.2
CHARTJS_SHA256 := 3f288f4f26882c26b58931fb586a9b4f30370b5de38d69dc005b0bd05b08e113
VENDOR := src/homefeed/service/static/vendor
vendor:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent chart.js@$(CHARTJS) >/dev/null && tar xzf chart.js-$(CHARTJS).tgz && \
	echo "$(CHARTJS_SHA256)  package/dist/chart.umd.min.js" | sha256sum -c - && \
	cp package/dist/chart.umd.min.js $(CURDIR)/$(VENDOR)/ && cp package/LICENSE.md $(CURDIR)/$(VENDOR)/chart.js.LICENSE.md

clean:
	rm -rf $(VENV) $(HOMEFEED_DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
