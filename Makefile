# Two commands for a fresh machine: `make serve` and `make test`. Both go through `make install`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install serve test lint typecheck unit bench clean node-tools system-tools lock upgrade

# Python dependencies come from uv.lock (every package, pinned, with hashes, for Python 3.11 on Linux),
# never from the ranges in pyproject.toml at install time. uv itself is pinned, with hashes, by
# tools/uv-requirements.txt and installed from PyPI into .uv/ when missing.
#   make lock      re-lock after a change to pyproject.toml; what is locked and still allowed stays put
#                  (the exact command: .uv/bin/uv lock; after merging branches that add dependencies:
#                  take either side of uv.lock, then run it)
#   make upgrade   newest versions the ranges allow, then make test; uv prints what moved: put it in the commit
UV_DIR := .uv
UV     := $(UV_DIR)/bin/uv
# Never download a Python: use the one the venv was made with. Copy, since the cache is on another disk.
UV_RUN := UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy $(UV)
EXTRAS := --extra test --extra bench

install: $(STAMP)

$(UV): tools/uv-requirements.txt
	@test -x $(UV_DIR)/bin/python || $(PYTHON) -m venv $(UV_DIR) || python3 -m venv $(UV_DIR)
	$(UV_DIR)/bin/python -m pip install --quiet --require-hashes --no-deps -r tools/uv-requirements.txt
	@touch $(UV)

# --compile-bytecode: each mockline process starts without compiling its imports first (where Python may
# not write its caches itself, four verify processes at once spent 6-22 s more on it).
$(STAMP): pyproject.toml uv.lock $(UV)
	@test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV) || python3 -m venv --without-pip $(VENV)
	@$(UV_RUN) sync --locked --compile-bytecode $(EXTRAS) || { \
	  echo "install from uv.lock failed; if uv says the lockfile needs to be updated, pyproject.toml" \
	       "changed without a re-lock: run 'make lock' and commit uv.lock" >&2; exit 1; }
	@touch $(STAMP)

lock: $(UV)
	$(UV_RUN) lock

upgrade: $(UV)
	@$(UV_RUN) lock --upgrade 2>$(UV_DIR)/upgrade.log; status=$$?; \
	  [ $$status = 0 ] || { cat $(UV_DIR)/upgrade.log; exit $$status; }; \
	  echo "what moved (say it in the commit that moves uv.lock):"; \
	  grep -E '^(Updated|Added|Removed) ' $(UV_DIR)/upgrade.log || echo "  nothing"
	$(MAKE) test

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
	  $$SUDO apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk redis-server chromium chromium-driver >/dev/null; \
	fi

serve: install
	$(BIN)/mockline serve $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install node-tools system-tools
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	  [ $$status != 5 ] || echo "pytest collected no test (exit 5): that is a failure, not a pass" >&2; \
	  exit $$status

test: lint typecheck unit

bench: install node-tools system-tools
	@command -v wrk >/dev/null || { echo "make bench needs wrk (Debian package wrk) and could not install it" >&2; exit 1; }
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) $(UV_DIR) build dist .mypy_cache .ruff_cache
