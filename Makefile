# leerid: make demo | make test | make lint | make bench
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench install clean

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

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

# The benchmarks print figures (README, Performance). PostgreSQL: LEERID_BENCH_DATABASE_URL
# (default postgresql+psycopg://postgres@127.0.0.1:5432/test for the login flows).
bench: $(STAMP)
	$(BIN)/python bench/registry_import.py
	$(BIN)/python bench/login_flow.py
	$(BIN)/python bench/sp_retention.py

clean:
	rm -rf $(VENV) .leerid .pytest_cache .mypy_cache .ruff_cache
