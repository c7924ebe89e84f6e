# ag_detectron: `make test` and `make demo` set everything up on a fresh machine (Python 3.11).
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test demo clean

setup:
	@bash scripts/setup_env.sh

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

demo: setup
	$(PY) tools/demo.py

clean:
	rm -rf $(VENV) build *.egg-info output
