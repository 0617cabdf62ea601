# Cloud Saves. `make run` serves the API locally; `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
STAMP := $(VENV)/.installed

.PHONY: help install run test test-fast lint format validate build deploy openapi bench admin import-roms clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements/dev.txt shared/requirements.txt client/pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --requirement requirements/dev.txt
	$(PY) -m pip install --quiet --editable ./client  # the device client, `cloudsaves`
	touch $(STAMP)

install: $(STAMP) ## create .venv with the pinned dependencies

run: $(STAMP) ## start the local stack (API on CLOUDSAVES_PORT, data in .local-data/; FRESH=1 starts empty)
	PYTHONPATH=.:shared $(PY) -m local_stack $(if $(FRESH),--fresh)

test: $(STAMP) ## lint the template and code, type-check the layer, then run every test
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
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

openapi: $(STAMP) ## regenerate docs/openapi.json from the handlers
	PYTHONPATH=.:shared $(PY) -m local_stack.openapi > docs/openapi.json
	cp docs/openapi.json shared/cloudsaves/openapi.json  # the copy GET /openapi.json serves, in the layer

bench: $(STAMP) ## benchmarks: cold starts, local request timings, a soak, direct transfers, index queries as the table grows
	PYTHONPATH=.:shared $(PY) bench/cold_start.py
	PYTHONPATH=.:shared $(PY) bench/local_requests.py
	PYTHONPATH=.:shared $(PY) bench/soak.py
	PYTHONPATH=.:shared $(PY) bench/direct_transfer.py
	PYTHONPATH=.:shared $(PY) bench/zip_bomb.py
	PYTHONPATH=.:shared $(PY) bench/full_list.py
	PYTHONPATH=.:shared $(PY) bench/negotiate.py
	PYTHONPATH=.:shared $(PY) bench/index_queries.py

# SAM CLI pins its own boto3 and pydantic, so it lives in its own venv, installed only when needed.
$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet --requirement requirements/sam.txt

# Neither needs Docker, AWS credentials or a region; telemetry off keeps them offline.
validate: $(SAM) ## sam validate --lint (offline)
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint

# The venv's python3 comes first on PATH: shared/Makefile runs `python3 -m pip` to fetch the layer's wheels.
build: $(SAM) ## sam build (no Docker: the makefile builds fetch arm64 wheels)
	PATH="$(abspath $(SAM_VENV))/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build

CONFIG_ENV ?= default
NO_AWS := make deploy needs AWS credentials and a region: AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and AWS_DEFAULT_REGION

# The section's stack_name (deploy, else global parameters), asked of CloudFormation: absent means first deploy.
STACK_EXISTS := $(SAM_VENV)/bin/python -c 'import boto3, tomllib; c = tomllib.load(open("samconfig.toml", "rb")).get("$(CONFIG_ENV)", {}); \
	name = c.get("deploy", {}).get("parameters", {}).get("stack_name") or c["global"]["parameters"]["stack_name"]; \
	boto3.client("cloudformation").describe_stacks(StackName=name)' 2>/dev/null

deploy: $(SAM) ## sam build + sam deploy (guided the first time): make deploy [CONFIG_ENV=staging] [GUIDED=1]
	@$(SAM_VENV)/bin/python -c 'import boto3; s = boto3.Session(); s.get_credentials() and s.region_name or exit("$(NO_AWS)")'
	$(MAKE) build
	@if [ -z "$(GUIDED)" ] && $(STACK_EXISTS); then $(SAM) deploy --config-env $(CONFIG_ENV); \
	else $(SAM) deploy --config-env $(CONFIG_ENV) --guided; fi

admin: $(STAMP) ## create an admin in the configured table: make admin USERNAME=name
	PYTHONPATH=shared $(PY) -m cloudsaves.cli create-admin --username $(USERNAME)

import-roms: $(STAMP) ## import a ROM catalog: make import-roms FILE=catalog.json
	PYTHONPATH=shared $(PY) -m cloudsaves.cli import-roms $(FILE)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
