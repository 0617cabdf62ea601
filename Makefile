# Cloud Saves. `make run` serves the API locally; `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
STAMP := $(VENV)/.installed

.PHONY: help install run test test-fast lint format typecheck validate build deploy bench admin import-roms clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements/dev.txt shared/requirements.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --requirement requirements/dev.txt
	touch $(STAMP)

install: $(STAMP) ## create .venv with the pinned dependencies

run: $(STAMP) ## start the local stack (API on CLOUDSAVES_PORT, default 3000)
	PYTHONPATH=.:shared $(PY) -m local_stack

test: $(STAMP) ## lint the template and code, then run every test
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/ruff check .
	PYTHONPATH=.:shared $(PY) -m pytest -n 2 --dist loadgroup

test-fast: $(STAMP) ## unit and integration tests only
	PYTHONPATH=.:shared $(PY) -m pytest -n 2 tests/unit tests/integration

lint: $(STAMP) ## ruff, mypy and cfn-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml

format: $(STAMP) ## format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP) ## direct-transfer benchmark against the local stack
	PYTHONPATH=.:shared $(PY) bench/direct_transfer.py

# SAM CLI pins its own boto3 and pydantic, so it lives in its own venv, installed only when needed.
$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet --requirement requirements/sam.txt

validate: $(SAM) ## sam validate --lint
	$(SAM) validate --lint

build: $(SAM) ## sam build (no Docker: the makefile builds fetch arm64 wheels)
	PATH="$(abspath $(SAM_VENV))/bin:$$PATH" $(SAM) build

STACK_NAME ?= cloud-saves

deploy: build ## sam deploy (guided while the stack does not exist yet, then samconfig.toml)
	@if $(SAM_VENV)/bin/python -c "import boto3,sys; boto3.client('cloudformation').describe_stacks(StackName='$(STACK_NAME)')" 2>/dev/null; \
	then $(SAM) deploy --stack-name $(STACK_NAME); else $(SAM) deploy --guided --stack-name $(STACK_NAME); fi

admin: $(STAMP) ## create an admin in the configured table: make admin USERNAME=name
	PYTHONPATH=shared $(PY) -m cloudsaves.cli create-admin --username $(USERNAME)

import-roms: $(STAMP) ## import a ROM catalog: make import-roms FILE=catalog.json
	PYTHONPATH=shared $(PY) -m cloudsaves.cli import-roms $(FILE)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
