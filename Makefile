# Two commands for a fresh machine: `make serve` and `make test`. Both go through `make install`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install serve test lint typecheck unit bench clean node-tools system-tools

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $(STAMP)

# Node tools the tests run against the specs (Redocly, Spectral, Prism), pinned by tools/package-lock.json.
# --ignore-scripts: no install hook of theirs runs (one only reports usage over the network).
NODE_STAMP := tools/node_modules/.installed

node-tools: $(NODE_STAMP)

$(NODE_STAMP): tools/package-lock.json
	npm ci --prefix tools --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

# Debian packages the tests and benchmarks start: wrk (load), redis-server, chromium and its driver.
SYSTEM_TOOLS := wrk redis-server chromium chromedriver

system-tools:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing (Debian packages)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    wrk redis-server chromium chromium-driver >/dev/null; \
	fi

serve: install
	$(BIN)/mockline serve $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install node-tools system-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck unit

bench: install node-tools system-tools
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
