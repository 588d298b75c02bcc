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

# The encoder fine-tuning tests need PyTorch. It is installed for them only from a CPU wheel
# already on the machine (CI's machines keep one in /opt/wheels): PyPI's own torch is a CUDA
# build of several GB. Elsewhere those tests are skipped; `pip install -e ".[finetune]"`.
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-*+cpu-*.whl))

test: install
	@# The browser tests drive Debian's Chromium (they are skipped without it); best effort.
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) || true
	$(if $(TORCH_WHEEL),$(BIN)/python -c "import torch; import onnx" 2>/dev/null || $(BIN)/pip install --quiet "$(TORCH_WHEEL)" "onnx>=1.16")
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install
	$(BIN)/python benchmarks/latency_benchmark.py
	$(BIN)/python benchmarks/load_benchmark.py

clean:
	rm -rf $(VENV) data .pytest_cache
