# AI Maker: `make run` serves the API locally (`chalice local`), `make test` runs the suite,
# `make bootstrap` then `make chalice-deploy` ship a stage with Chalice, `make package` /
# `make deploy` ship it as one CloudFormation stack, `make bench` measures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What `make run` needs, and the whole toolchain for `make test`.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# Packaging and deployment (see README, "Deploying to AWS").
STAGE ?= dev
STACK_NAME ?= ai-maker-$(STAGE)
BUILD_DIR := build/$(STAGE)
AWS ?= aws
# An S3 bucket you own, where `aws cloudformation package` uploads the zip.
ARTIFACT_BUCKET ?=
# CloudFormation parameter overrides, e.g. PARAMS="FrontendBaseUrl=https://chat.example.com".
PARAMS ?=
# For `make bootstrap`: the browser origin CORS allows, and the base of share links.
ALLOWED_ORIGIN ?= *
FRONTEND_BASE_URL ?=
# The operator's daily token budget for `make package` and `make bootstrap` (0: none);
# unset, they ask for it at a terminal and take the default elsewhere (infra/budget.py).
BUDGET_TOKENS_PER_DAY ?=
BUDGET_FLAG = $(if $(strip $(BUDGET_TOKENS_PER_DAY)),--budget-tokens-per-day '$(strip $(BUDGET_TOKENS_PER_DAY))')
# API Gateway's throttling of both APIs, for `make deploy` and `make after-deploy`
# (requests per second, and at once); unset, a new stack and after-deploy take the
# defaults (50 and 100), and a deployed stack keeps its own.
THROTTLE_RATE ?=
THROTTLE_BURST ?=
THROTTLE_PARAMS = $(if $(strip $(THROTTLE_RATE)),ThrottleRate=$(strip $(THROTTLE_RATE))) \
	$(if $(strip $(THROTTLE_BURST)),ThrottleBurst=$(strip $(THROTTLE_BURST)))
THROTTLE_FLAGS = $(if $(strip $(THROTTLE_RATE)),--throttle-rate '$(strip $(THROTTLE_RATE))') \
	$(if $(strip $(THROTTLE_BURST)),--throttle-burst '$(strip $(THROTTLE_BURST))')

.PHONY: install run reset-local test test-quick docs check lint typecheck clean package deploy bench browser
.PHONY: bootstrap chalice-deploy after-deploy

# The Lambda runtime is Python 3.11. A .venv made by an older Python (or whose Python is
# gone) is made again, not reused; and only a Python new enough may make it.
IS_NEW_ENOUGH := import sys; print(sys.version_info >= (3, 11))
ifneq ($(shell $(BIN)/python -c '$(IS_NEW_ENOUGH)' 2>/dev/null),True)
ifneq ($(wildcard $(VENV)),)
$(info make: $(VENV) was made by another Python; making it again)
$(shell rm -rf $(VENV))
endif
ifneq ($(filter-out clean reset-local,$(or $(MAKECMDGOALS),install)),)
ifneq ($(shell $(PYTHON) -c '$(IS_NEW_ENOUGH)' 2>/dev/null),True)
$(error AI Maker needs Python 3.11 or newer, and $(PYTHON) is $(or $(shell $(PYTHON) -V 2>&1 | head -1),missing): run make with PYTHON=python3.11 or newer)
endif
endif
endif

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever a requirements file changes.
# pip installs only uv, which then installs the requirements in seconds where pip takes
# a minute. The venv keeps its pip: `chalice package` builds the Lambda's zip with it.
# Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE is set, every process
# would otherwise compile each module it imports (half the CPU of a server's start).
UV_VERSION := 0.13.9
$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
UV_INSTALL = $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(RUN_STAMP): requirements.txt requirements-local.txt | $(BIN)/uv
	$(UV_INSTALL) -r requirements-local.txt
	touch $(RUN_STAMP)

$(STAMP): requirements.txt requirements-local.txt requirements-dev.txt | $(BIN)/uv
	$(UV_INSTALL) -r requirements-dev.txt
	touch $(STAMP) $(RUN_STAMP)

install: $(STAMP)

# `chalice local` on HOST:PORT for STAGE, with a deeper listen queue and no autoreload.
# It installs only what serving needs.
run: $(RUN_STAMP)
	$(BIN)/python -m scripts.run_local --host $(HOST) --port $(PORT) --stage $(STAGE)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

check: lint typecheck

# The documentation site (MkDocs, Material) into site/; --strict fails on a broken link
# or a page missing from the nav.
# MkDocs has an environment of its own: it brings watchdog, whose reports of files merely
# opened (watchdog 2.3 and later) make `chalice local`'s autoreload restart for ever.
DOCS_VENV := .venv-docs
DOCS_STAMP := $(DOCS_VENV)/.installed-docs
$(DOCS_STAMP): requirements-docs.txt | $(BIN)/uv
	$(PYTHON) -m venv --without-pip $(DOCS_VENV)
	$(BIN)/uv pip install --quiet --python $(DOCS_VENV)/bin/python -r requirements-docs.txt
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --quiet

# Rewrite openapi.json and asyncapi.json, the committed copies of GET /openapi.json and
# GET /asyncapi.json (a test fails when either drifts).
.PHONY: openapi
openapi: install
	$(BIN)/python -m chalicelib.api.openapi openapi.json
	$(BIN)/python -m chalicelib.api.asyncapi asyncapi.json

# Tests run in PYTEST_WORKERS processes (pytest-xdist); many wait on servers, not the CPU.
PYTEST_WORKERS ?= 3
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal

test: check docs browser
	$(PYTEST)

# The edit loop: the unit, store, service and API tests, without browsers, subprocess
# servers, packaging or fault injection (all of them run in make test).
QUICK_TESTS := tests/core tests/model tests/stores tests/services tests/api tests/test_layers.py
test-quick: install
	$(PYTEST) $(QUICK_TESTS)

# The web app's tests (tests/web) drive Debian's chromium through chromium-driver. Only
# `make test` installs them (as root, with apt-get); `make run` never installs anything.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing chromium and chromium-driver for the browser tests"; \
		apt-get update -q && apt-get install -y -q chromium chromium-driver; \
	else \
		echo "make test runs browser tests and needs chromium and chromedriver." >&2; \
		echo "Install them, e.g. sudo apt-get install chromium chromium-driver, and retry." >&2; \
		exit 2; \
	fi

# The Lambda zip and the merged SAM template in build/<stage>/, linted.
package: install
	$(BIN)/python -m infra.package --stage $(STAGE) --out $(BUILD_DIR) $(BUDGET_FLAG)
	$(BIN)/cfn-lint $(BUILD_DIR)/sam.json

# Needs AWS credentials, a region and the AWS CLI; creates or updates the stack.
# First the client hash secret, which CloudFormation cannot create (infra/secrets.py).
# The overrides: the budget package chose (build/<stage>/parameter-overrides, empty when
# it was taken without asking), the throttling given, then PARAMS, which wins.
deploy: package
	@test -n "$(ARTIFACT_BUCKET)" || { \
		echo "make deploy needs ARTIFACT_BUCKET=<an S3 bucket for the code upload>" >&2; exit 2; }
	$(BIN)/python -m infra.secrets --stage $(STAGE)
	$(AWS) cloudformation package --template-file $(BUILD_DIR)/sam.json \
		--s3-bucket $(ARTIFACT_BUCKET) --s3-prefix $(STACK_NAME) \
		--use-json --output-template-file $(BUILD_DIR)/packaged.json
	set -- $$(cat $(BUILD_DIR)/parameter-overrides) $(THROTTLE_PARAMS) $(PARAMS); \
	if [ $$# -gt 0 ]; then set -- --parameter-overrides "$$@"; fi; \
	$(AWS) cloudformation deploy --template-file $(BUILD_DIR)/packaged.json \
		--stack-name $(STACK_NAME) --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
		--s3-bucket $(ARTIFACT_BUCKET) --s3-prefix $(STACK_NAME) \
		--no-fail-on-empty-changeset "$$@"
	@printf 'API URL: '
	@$(AWS) cloudformation describe-stacks --stack-name $(STACK_NAME) --output text \
		--query "Stacks[0].Outputs[?OutputKey=='EndpointURL'].OutputValue"

# Once per stage, for `chalice deploy`: the table, bucket, role and log group (one
# CloudFormation stack), written into the stage's section of .chalice/config.json.
bootstrap: install
	$(BIN)/python -m infra.bootstrap --stage $(STAGE) --allowed-origin '$(ALLOWED_ORIGIN)' \
		$(if $(strip $(FRONTEND_BASE_URL)),--frontend-base-url '$(FRONTEND_BASE_URL)') \
		$(BUDGET_FLAG)

# After every `chalice deploy`: API Gateway's own 4XX/5XX answers carry CORS again, both
# APIs are throttled, and the functions know the WebSocket API's URL (infra/after_deploy.py).
after-deploy: install
	$(BIN)/python -m infra.after_deploy --stage $(STAGE) $(THROTTLE_FLAGS)

chalice-deploy: install
	$(BIN)/chalice deploy --stage $(STAGE)
	$(MAKE) --no-print-directory after-deploy STAGE=$(STAGE)

# A benchmark, not a test: storage cost per send, cold import, server-side send time.
bench: install
	$(BIN)/python -m bench

# The local AWS's data (agents, sessions, files) that `make run` and `chalice local` keep.
LOCAL_DATA_DIR ?= .local
reset-local:
	rm -rf -- "$(LOCAL_DATA_DIR)"

clean:
	rm -rf $(VENV) $(DOCS_VENV) .pytest_cache .mypy_cache .ruff_cache build .chalice/deployments
