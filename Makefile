# Every target that needs the toolchain depends on `setup`, which is idempotent: a fresh clone
# needs nothing but `make synth` or `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# node_modules/.bin first: the pinned Node 24 runs jsii, the CDK CLI, esbuild and the tests;
# NodejsFunction finds esbuild here instead of falling back to Docker.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/.venv/bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

VENV_STAMP := .venv/.installed
NODE_STAMP := node_modules/.installed
DYNAMODB_LOCAL_STAMP := .cache/dynamodb-local.path

.PHONY: help setup lock synth test unit lint test-python test-lambda cfn-lint secrets audit guard sbom local local-token smoke bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The venv installs the lock (every package pinned, every file's hash checked), never a fresh
# resolution of requirements*.txt: what the Build step audits and lists in its SBOM is what runs.
$(VENV_STAMP): requirements-dev.lock
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

# requirements.txt (the CDK app) and requirements-dev.txt (the toolchain) name what we choose;
# the locks pin everything they pull in. The app's lock is resolved within the toolchain's, so
# the two never disagree on a version (tests/unit/test_python_locks.py).
PIP_COMPILE := pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
lock: $(VENV_STAMP) ## Resolve requirements*.txt again into requirements-dev.lock and requirements.lock
	$(PIP_COMPILE) --output-file requirements-dev.lock requirements-dev.txt
	$(PIP_COMPILE) --constraint requirements-dev.lock --output-file requirements.lock requirements.txt

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(DYNAMODB_LOCAL_STAMP): scripts/dynamodb-local.sh
	mkdir -p .cache
	bash scripts/dynamodb-local.sh > $@.tmp && mv $@.tmp $@

setup: $(VENV_STAMP) $(NODE_STAMP) $(DYNAMODB_LOCAL_STAMP) ## Install the toolchain (venv, npm ci, DynamoDB Local)

export DYNAMODB_LOCAL_DIR = $(shell cat $(DYNAMODB_LOCAL_STAMP) 2>/dev/null)

synth: setup ## Synthesize the pipeline and every stage into cdk.out; any cdk-nag finding fails
	rm -rf cdk.out
	cdk synth '**' --quiet

lint: setup ## ruff (with its bandit rules), mypy, tsc --strict and ESLint (typescript-eslint, type-checked strict)
	ruff check .
	ruff format --check .
	mypy
	tsc -p tsconfig.json --noEmit
	eslint --max-warnings=0 .

# The fast loop: no JVM, no synth, no external checker (tests/unit, lambda/test/unit, local/test,
# scripts/test). `make test` runs these too, with everything else: tests/infrastructure (synth,
# assertions, nag, cfn-guard), tests/gates (the Build's checkers on planted faults), lambda/test/
# integration (DynamoDB Local), tests/e2e (the local stack as processes).
unit: $(VENV_STAMP) $(NODE_STAMP) ## Only the unit tests: seconds, no DynamoDB Local, no synth
	node --test --test-concurrency=2 'lambda/test/unit/**/*.test.ts' 'local/test/**/*.test.ts' 'scripts/test/**/*.test.ts'
	pytest -q -p no:xdist tests/unit

# Two workers, one test file each at a time (module fixtures such as the local stack stay shared).
test-python: setup ## pytest: CDK assertions, config, the nag gate
	pytest -n 2 --dist loadfile

# One DynamoDB Local for the whole run (the global setup), instead of a JVM per test file.
test-lambda: setup ## node --test: the handlers against DynamoDB Local, the local gateway, the event builder
	node --test --test-concurrency=2 --test-global-setup=lambda/test/support/global-setup.ts 'lambda/test/**/*.test.ts' 'local/test/**/*.test.ts' 'scripts/test/**/*.test.ts'

cfn-lint: synth ## cfn-lint over every synthesized template
	find cdk.out -name '*.template.json' -print0 | xargs -0 -n 2 -P 2 cfn-lint --non-zero-exit-code warning --

# One suite after the other: run side by side on two cores they only slowed each other down
# (each already uses both: two node --test files at a time, two pytest workers).
secrets: setup ## detect-secrets over the tracked files against the reviewed .secrets.baseline
	.venv/bin/python scripts/check_secrets.py

# Not part of `make test`: the advisory databases are on the internet. The pipeline's Build step
# runs it after `make test`; offline it fails saying so.
audit: $(VENV_STAMP) $(NODE_STAMP) ## Known-vulnerable dependencies: npm audit --omit=dev and pip-audit over the Python lock (needs the internet)
	.venv/bin/python scripts/audit.py

# The second policy engine: AWS Control Tower's proactive controls (cfn-guard rules) over cdk.out.
guard: synth ## cfn-guard with Control Tower's proactive controls over every template; any unacknowledged finding fails
	.venv/bin/python scripts/check_guard.py cdk.out

# In cdk.out, so the pipeline keeps them with the assembly it deploys (the Build's artifact).
SBOM_DIR := cdk.out/sbom
sbom: synth ## CycloneDX SBOMs into cdk.out/sbom: what each function's bundle holds, and the CDK app's Python packages
	node scripts/sbom.ts cdk.out $(SBOM_DIR)
	@# The warning says the root's dependency graph is flat, which a requirements file is.
	.venv/bin/python -W ignore::UserWarning -m cyclonedx_py requirements requirements.lock --pyproject pyproject.toml --sv 1.6 --output-file $(SBOM_DIR)/cdk-app-python.cdx.json
	.venv/bin/python -m scripts.check_sbom $(SBOM_DIR)

test: lint secrets test-lambda test-python cfn-lint guard sbom ## Every test

local: setup ## Run the whole API here: DynamoDB Local + the handlers on http://127.0.0.1:3000 (docs/local.md)
	@if [ -z "$${USERS_TABLE_TEMPLATE:-}" ] && ! node local/table-template.ts --fresh; then $(MAKE) --no-print-directory synth; fi
	node local/server.ts

local-token: setup ## Print a bearer token for `make local` on the last line (SCOPES=users/read: read-only)
	@node local/token.ts

SMOKE_API_URL ?= http://127.0.0.1:3000
smoke: setup ## Smoke-test a running API: `make local` by default, or SMOKE_API_URL=https://... (tests/smoke)
	@export SMOKE_API_URL='$(SMOKE_API_URL)'; \
	if [ -z "$${SMOKE_TOKEN:-}$${SMOKE_TOKEN_COMMAND:-}$${SMOKE_TOKEN_URL:-}" ]; then export SMOKE_TOKEN_COMMAND='node local/token.ts'; fi; \
	pytest -p no:cacheprovider tests/smoke

bench: setup ## Speed and size of what we ship against budgets: synth, bundles, cold starts, latency, throughput (docs/benchmarks.md)
	node bench/run.ts

clean: ## Remove build output and installed toolchains
	rm -rf cdk.out .venv node_modules .cache .pytest_cache .mypy_cache .ruff_cache .bench
