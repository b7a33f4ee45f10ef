# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test check install bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# Start the service on the embedded default (SQLite under ./data, bundled rules and lists).
run: $(BIN)/.installed
	$(BIN)/uflpa serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# Lint, types and the whole test suite (PostgreSQL tests run when TEST_DATABASE_URL is set).
test: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" scripts/check

check: test

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
