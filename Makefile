# kontrakt: few verbs, each works on a fresh clone (the virtual environment bootstraps itself).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SPECS  := specs
OUT    := kontrakt/generated
REPORTS ?= reports

.PHONY: setup lint lint-specs generate check-generated docs test demo certify bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install kontrakt with its dev tools

lint: $(STAMP) ## ruff (lint + format) and mypy on the code, kontrakt/generated/ included
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint-specs: $(STAMP) ## OpenAPI + x-kontrakt-* checks on every contract in specs/
	$(BIN)/kontrakt lint $(SPECS)

generate: $(STAMP) ## regenerate kontrakt/generated/ from specs/ (one package per contract; atomic)
	$(BIN)/kontrakt generate $(SPECS) --out $(OUT)

check-generated: $(STAMP) ## fail with a diff when kontrakt/generated/ differs from what specs/ produce
	$(BIN)/kontrakt generate $(SPECS) --out $(OUT) --check

docs: $(STAMP) ## the documentation site in site/ (MkDocs, --strict; reference pages generated)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: lint lint-specs check-generated docs ## everything CI runs: code lint, spec lint, generated/, docs, tests
	$(BIN)/python -m pytest -q -n auto

demo: $(STAMP) ## the main job: certify the sandbox providers (signed by a throwaway demo key), lint the contracts, diff DSOP
	$(BIN)/kontrakt lint $(SPECS)
	$(BIN)/kontrakt assumptions $(SPECS) | tail -n 1
	$(BIN)/kontrakt diff specs/dsop-control/v1.1.1/openapi.yaml specs/dsop-control/v2.0/openapi.yaml \
		--format markdown --output $(REPORTS)/diff-dsop-control-v1.1.1-v2.0.md --fail-on never
	$(BIN)/kontrakt diff specs/dsop-control/v1.1.1/openapi.yaml specs/dsop-control/v2.0/openapi.yaml \
		--fail-on never | head -n 8
	$(BIN)/python -m kontrakt.selfcert --out $(REPORTS) --demo-key
	$(BIN)/python examples/dsop_consumer_flow.py --sandbox
	@echo "Reports: $(REPORTS)/"

certify: $(STAMP) ## certify every sandbox provider with kontrakt certify; reports in reports/<provider>/
	$(BIN)/python -m kontrakt.selfcert --out $(REPORTS)

bench: $(STAMP) ## time kontrakt generate against peer generators; writes bench/RESULTS.md
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(REPORTS)
