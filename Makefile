# The README's two commands are `make demo` (the main job) and `make test`.
# Each sets up what it needs in .venv first, so both work on a fresh Debian machine.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: demo test lint format clean

$(VENV)/.nerve: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[test,dev]'
	touch $@

# References for the parity tests, never runtime dependencies of nerve: torch (the CPU build
# on this machine's disk) for the PyTorch door, Keras 3 on its torch backend for the Keras door.
$(VENV)/.torch: $(VENV)/.nerve
	$(PIP) torch==2.13.0
	$(PIP) keras==3.15.0
	touch $@

demo: $(VENV)/.nerve
	$(PY) examples/digits_mlp.py

test: $(VENV)/.torch
	$(PY) -m ruff check src tests examples
	$(PY) -m ruff format --check src tests examples
	$(PY) -m pytest

lint: $(VENV)/.nerve
	$(PY) -m ruff check src tests examples

format: $(VENV)/.nerve
	$(PY) -m ruff format src tests examples

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
