# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := forecasting replenishment flows

.PHONY: demo test lint typecheck install install-dev clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

$(VENV)/.installed: pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/replenish demo --config config/demo.yaml

lint: install-dev
	$(BIN)/ruff check $(PACKAGES) tests benchmarks

typecheck: install-dev
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

clean:
	rm -rf outputs data .replenish
