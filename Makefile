# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make run    the main job: creates .venv with hubsim's runtime dependencies only, then runs
#               the flagship power study
#   make test   the default test tier: adds the dev, dask and app extras (tests, oracle
#               packages, lint, notebook runners; Dask distributed for the LocalCluster tests;
#               Streamlit and Selenium for the app's) to the same .venv first
#   make app    the planner app in the browser (adds the app extra, Streamlit)
PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
BIN     := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV     := $(VENV)/.installed-dev
APP     := $(VENV)/.installed-app

.PHONY: install install-runtime run app site test test-slow test-grid test-all lint sites bench clean

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,app]'
	touch $@

$(APP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[app]'
	touch $@

install: $(DEV)

install-runtime: $(RUNTIME)

run: $(RUNTIME)
	$(BIN)/hubsim power naturalistic_evaluation --out results/power_naturalistic_evaluation

# the planner app in the browser (http://127.0.0.1:8501, or the next free port; PORT=N to choose)
app: $(APP)
	$(BIN)/hubsim app $(if $(PORT),--port $(PORT),)

site: $(RUNTIME)
	$(BIN)/hubsim run site_d --replications 10 --seed 1 --workers 2 --out results/site_d

sites: $(RUNTIME)
	$(BIN)/hubsim sites

test: $(DEV)
	$(BIN)/python -m pytest -m "not slow" -n 2 -p no:cacheprovider

test-slow: $(DEV)
	$(BIN)/python -m pytest -m "slow" -n 2 -p no:cacheprovider

test-grid: $(DEV)
	$(BIN)/python -m pytest -m "grid" -n 2 -p no:cacheprovider

test-all: $(DEV)
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks notebooks experiments

bench: $(DEV)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-newest .venv-lowest .pytest_cache .ruff_cache
