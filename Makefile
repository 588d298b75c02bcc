# Switchboard: `make run` sets everything up and starts the service; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install prepare lint bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

prepare: install
	SWITCHBOARD_HOST=$(HOST) SWITCHBOARD_PORT=$(PORT) $(BIN)/switchboard prepare

run: prepare
	$(BIN)/switchboard serve --host $(HOST) --port $(PORT)

test: install
	@# The browser tests drive Debian's Chromium (they are skipped without it); best effort.
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) || true
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install
	$(BIN)/python benchmarks/latency_benchmark.py
	$(BIN)/python benchmarks/load_benchmark.py

clean:
	rm -rf $(VENV) data .pytest_cache
