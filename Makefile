# leerid: make demo | make test | make test-unit | make lint | make bench
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

# What the browser tests need besides Python: Debian's Chromium, and npm's axe-core (pinned)
# in an ignored folder. `make test` installs both when missing; CHROMIUM and USER_ID can be
# overridden to check the install branch (`make -n test CHROMIUM=/missing`).
# The interop tests (tests/interop/) need relying parties that are not ours: Debian's Apache
# with mod_auth_openidc (OIDC_MODULE), and panva's openid-client, pinned by
# tests/interop/node/package-lock.json and installed with `npm ci` into an ignored folder.
CHROMIUM    ?= /usr/bin/chromium
OIDC_MODULE ?= /usr/lib/apache2/modules/mod_auth_openidc.so
USER_ID     ?= $(shell id -u)
# Tests run in three processes (pytest-xdist) on the 2-core machine: a third of a test's time
# is spent waiting on servers, processes and polls, so a third worker fills it (measured in
# the README); TEST_WORKERS=0 runs them in one.
TEST_WORKERS ?= 3
AXE_VERSION := 4.14.1
NODE_DIR    := .leerid/node
AXE_STAMP   := $(NODE_DIR)/.installed-axe-core-$(AXE_VERSION)
INTEROP_NODE  := tests/interop/node
INTEROP_DIR   := .leerid/interop-node
INTEROP_STAMP ?= $(INTEROP_DIR)/.installed-$(shell cat $(INTEROP_NODE)/package.json $(INTEROP_NODE)/package-lock.json | cksum | cut -d' ' -f1)
# The side-by-side bench's peer, panva's oidc-provider (and ioredis), pinned by
# bench/peer/package-lock.json and installed with `npm ci` into an ignored folder; its test
# (tests/bench/) needs it too.
PEER_NODE  := bench/peer
PEER_DIR   := .leerid/peer
PEER_STAMP ?= $(PEER_DIR)/.installed-$(shell cat $(PEER_NODE)/package.json $(PEER_NODE)/package-lock.json | cksum | cut -d' ' -f1)

.PHONY: demo test test-unit test-deps lint bench bench-deps install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/leerid demo

test: $(STAMP) test-deps
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

# The unit tests only (no server, database, browser or process; tests/live_or_unit.py classes
# them and fails one that opens any), in one process: workers would cost more than they save.
test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -n 0 -m unit

test-deps: $(CHROMIUM) $(AXE_STAMP) $(OIDC_MODULE) $(INTEROP_STAMP) $(PEER_STAMP)

$(CHROMIUM):
	@if [ "$(USER_ID)" != 0 ]; then echo "make test: the browser tests need Chromium at $(CHROMIUM): install Debian's package as root (apt-get install chromium) and run make test again" >&2; exit 1; fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
	@test -x $(CHROMIUM) || { echo "make test: apt-get installed chromium, but $(CHROMIUM) is still missing; set CHROMIUM=PATH" >&2; exit 1; }

$(AXE_STAMP):
	@command -v npm >/dev/null || { echo "make test: the browser tests need npm (to install axe-core $(AXE_VERSION)): apt-get install npm" >&2; exit 1; }
	npm install --prefix $(NODE_DIR) --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION)
	rm -f $(NODE_DIR)/.installed-axe-core-*
	touch $(AXE_STAMP)

$(OIDC_MODULE):
	@if [ "$(USER_ID)" != 0 ]; then echo "make test: the interop tests need Apache with mod_auth_openidc at $(OIDC_MODULE): install Debian's packages as root (apt-get install apache2 libapache2-mod-auth-openidc) and run make test again" >&2; exit 1; fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2 libapache2-mod-auth-openidc
	@test -f $(OIDC_MODULE) || { echo "make test: apt-get installed libapache2-mod-auth-openidc, but $(OIDC_MODULE) is still missing; set OIDC_MODULE=PATH" >&2; exit 1; }

$(INTEROP_STAMP): $(INTEROP_NODE)/package.json $(INTEROP_NODE)/package-lock.json
	@command -v npm >/dev/null || { echo "make test: the interop tests need npm (to install openid-client from $(INTEROP_NODE)/package-lock.json): apt-get install npm" >&2; exit 1; }
	mkdir -p $(INTEROP_DIR)
	cp $(INTEROP_NODE)/package.json $(INTEROP_NODE)/package-lock.json $(INTEROP_DIR)/
	npm ci --prefix $(INTEROP_DIR) --no-audit --no-fund --silent
	rm -f $(INTEROP_DIR)/.installed-*
	touch $(INTEROP_STAMP)

$(PEER_STAMP): $(PEER_NODE)/package.json $(PEER_NODE)/package-lock.json
	@command -v npm >/dev/null || { echo "make: the side-by-side bench needs npm (to install oidc-provider from $(PEER_NODE)/package-lock.json): apt-get install npm" >&2; exit 1; }
	mkdir -p $(PEER_DIR)
	cp $(PEER_NODE)/package.json $(PEER_NODE)/package-lock.json $(PEER_DIR)/
	npm ci --prefix $(PEER_DIR) --no-audit --no-fund --silent
	rm -f $(PEER_DIR)/.installed-*
	touch $(PEER_STAMP)

bench-deps: $(PEER_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

# The benchmarks print figures (README, Performance). PostgreSQL: LEERID_BENCH_DATABASE_URL
# (default postgresql+psycopg://postgres@127.0.0.1:5432/test for the login flows). The
# side-by-side bench first: leerid against oidc-provider (Redis at 127.0.0.1:6379 for its
# Redis-backed run; without it that run is skipped, with the command that starts Redis).
bench: $(STAMP) bench-deps
	$(BIN)/python bench/side_by_side.py
	$(BIN)/python bench/asgi_servers.py
	$(BIN)/python bench/registry_import.py
	$(BIN)/python bench/login_flow.py
	$(BIN)/python bench/sp_retention.py
	$(BIN)/python bench/tlog_tiles.py
	$(BIN)/python bench/transparency_log.py
	$(BIN)/python bench/console_charts.py --http

clean:
	rm -rf $(VENV) .leerid .pytest_cache .mypy_cache .ruff_cache
