# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make run    the main job (creates .venv and installs hubsim with its dev extra first)
#   make test   the default test tier (same set-up first)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run site test test-slow test-all lint sites bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/hubsim power experiments/power_naturalistic_evaluation.yaml --out results/power_naturalistic_evaluation

site: $(STAMP)
	$(BIN)/hubsim run configs/sites/site_d.yaml --horizon-days 365 --replications 10 --seed 1 --workers 2 --out results/site_d

sites: $(STAMP)
	$(BIN)/hubsim sites

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2 -p no:cacheprovider

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m "slow" -n 2 -p no:cacheprovider

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks experiments

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
