# rskg — every target installs what it needs first (idempotent), so a fresh clone works.
SHELL := /bin/bash
PY    ?= python3.11
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: setup system-deps venv web servers-up servers-down status demo test test-unit bench bench-scale eval map-accept lint clean-runtime

setup: system-deps venv ## install everything (apt packages, virtualenv, Neo4j jars)
	$(BIN)/rskg servers provision

system-deps:
	@bash scripts/system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,ray]'
	@touch $(STAMP)

venv: $(STAMP)

# the web app's bundle (api/pages/static/app/, committed): rebuilt from web/ with npm + esbuild only when its
# sources changed (build-info.json holds their hash); without node the committed bundle is served as it is
web:
	@if ! command -v node >/dev/null; then echo "node not installed: serving the committed web bundle"; \
	elif node web/build.mjs --check >/dev/null 2>&1; then echo "web bundle up to date"; \
	else cd web && npm ci --no-audit --no-fund --loglevel=error && node build.mjs; fi

servers-up: setup web
	$(BIN)/rskg servers up
	$(BIN)/rskg db migrate

servers-down:
	$(BIN)/rskg servers down

status:
	$(BIN)/rskg servers status

demo: servers-up
	@bash scripts/demo.sh

test: servers-up
	$(BIN)/pytest -q

test-unit: venv
	$(BIN)/pytest -q tests/unit

bench: servers-up
	$(BIN)/python -m benchmarks

SCALE_ONLY ?= ingest,sizes,sizes_ray,concurrency,pool,retrieval,catalog
bench-scale: servers-up ## the paper's scale (issue 20) -> benchmarks/results/scale.{json,md}; SCALE_ONLY=ingest,...
	$(BIN)/python -m benchmarks scale --only $(SCALE_ONLY)

EVAL_DATA ?= $(or $(RSKG_DATA_DIR),../shared/data)
eval: servers-up ## quality vs the papers -> benchmarks/results/eval.md + PNG plots (docs/evaluation.md)
	$(BIN)/rskg ingest $(EVAL_DATA)/ucmerced --dataset ucm --quiet
	$(BIN)/rskg eval cbir
	$(BIN)/rskg eval classify
	$(BIN)/rskg eval crossdataset
	$(BIN)/rskg eval crossdataset --lodo
	$(BIN)/rskg eval supplementary --dataset ucm --truth $(EVAL_DATA)/ucmerced/multilabels.csv
	$(BIN)/rskg eval expansion
	$(BIN)/rskg eval report

map-accept: venv ## train the calibrated auto-accept model of label mapping -> $RSKG_HOME/models/map_accept.json
	$(BIN)/rskg map train-accept --extra benchmarks/data/fresh_vocab --extra benchmarks/data/fresh_vocab2

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy rskg ontology kg embeddings mappings api
	$(BIN)/lint-imports

clean-runtime: servers-down
	rm -rf .rskg
