# ag_detectron: `make test` and `make demo` set everything up on a fresh machine (Python 3.11).
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup lint format test demo clean

setup:
	@bash scripts/setup_env.sh

# ruff (configured in ruff.toml): lint rules and the formatter's check; `make format` rewrites.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup lint
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

demo: setup
	$(PY) tools/demo.py

clean:
	rm -rf $(VENV) build *.egg-info output
