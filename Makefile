# The README's two commands are `make demo` (the main job) and `make test`.
# Each sets up what it needs in .venv first, so both work on a fresh Debian machine.
# `make demo` also installs the Fashion-MNIST Debian package when it is missing and apt is usable.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: demo test lint format clean fashion-mnist fortunes examples

# Debian's python3 lacks venv until python3-venv is installed: do that when apt allows.
$(VENV)/.nerve: pyproject.toml
	$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		rm -rf $(VENV); \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq python3-venv; \
		$(PYTHON) -m venv $(VENV); }
	$(PIP) -e '.[test,dev]'
	touch $@

# References for the parity tests, never runtime dependencies of nerve: torch (the CPU build
# on this machine's disk) for the PyTorch door, Keras 3 on its torch backend for the Keras door,
# Captum for nerve.explain.
$(VENV)/.torch: $(VENV)/.nerve
	$(PIP) torch==2.13.0
	$(PIP) keras==3.15.0
	$(PIP) captum==0.9.0
	touch $@

FASHION_MNIST := /usr/share/datasets/fashion-mnist

demo: $(VENV)/.nerve fashion-mnist
	$(VENV)/bin/nerve train $(ARGS)

# Best effort: with root (or sudo) and apt, install the package; otherwise nerve train says
# where to put the files.
fashion-mnist:
	@if [ ! -d $(FASHION_MNIST) ] && command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "installing the Debian package dataset-fashion-mnist"; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist \
			|| echo "could not install dataset-fashion-mnist; nerve train will say what to do"; \
	fi

# The text corpus of the sequence examples (examples/char_lstm.py, examples/attention.py):
# Debian's fortunes package, installed the same way, best effort.
FORTUNES := /usr/share/games/fortunes

fortunes:
	@if [ ! -d $(FORTUNES) ] && command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "installing the Debian package fortunes"; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fortunes \
			|| echo "could not install fortunes; the sequence examples will say what to do"; \
	fi

# Every example of the gallery in full mode (minutes each; see examples/README.md).
examples: $(VENV)/.torch fashion-mnist fortunes
	for f in examples/[a-z]*.py; do $(PY) $$f || exit 1; done

test: $(VENV)/.torch fashion-mnist fortunes
	$(PY) -m ruff check src tests examples benchmarks
	$(PY) -m ruff format --check src tests examples benchmarks
	$(PY) -m pytest

lint: $(VENV)/.nerve
	$(PY) -m ruff check src tests examples benchmarks

format: $(VENV)/.nerve
	$(PY) -m ruff format src tests examples benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
