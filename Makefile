# One venv, one install, two jobs: the demo and the tests. `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: help setup demo test test-fast bench clean

help:
	@echo "make demo       set up (venv, torch==2.13.0 CPU, xharness) and run the offline demo"
	@echo "make test       set up if needed and run the whole test suite (real-model tests included)"
	@echo "make test-fast  the suite without the real-model tests (marked slow)"

setup: $(VENV)/.installed

# torch is pinned to the CPU build first: a bare `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: setup
	$(VENV)/bin/xharness demo

test: setup
	$(PY) -m pytest -m "slow or not slow"

test-fast: setup
	$(PY) -m pytest

clean:
	rm -rf $(VENV) build dist *.egg-info results
