# `make test` and `make demo` work from a clean clone: they create .venv themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test test-fast demo lint typecheck bench clean install help docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: lint typecheck
	$(PY) -m pytest -q -n auto

# The edit loop: unit and CLI tests only (target: under a minute; `make test` runs everything). The
# layers say what is quick: unit tests start no server (tests/conftest.py refuses one), CLI tests run
# commands on the embedded AWS, functional tests are the rest; there is no "slow" marker to skip.
test-fast: $(STAMP)
	$(PY) -m pytest -q tests/unit tests/cli

help: $(STAMP)
	$(PY) -m mlpipe.cli.help_cache --write

docs: $(STAMP)
	$(PY) -m mlpipe.cli.docs --write

demo: $(STAMP)
	$(VENV)/bin/mlpipe demo
	@echo "mlpipe is installed in $(VENV): run 'source $(VENV)/bin/activate' to have it on your PATH (or type $(VENV)/bin/mlpipe)."

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
