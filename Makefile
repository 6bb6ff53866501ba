# Sluice — local stack and developer commands. Machines without Docker get a
# real Kafka broker from Maven Central; see deploy/local/stack.sh.
SHELL := /bin/bash
.DEFAULT_GOAL := help

STACK := deploy/local/stack.sh
export SLUICE_LOCAL ?= $(CURDIR)/.local

# Ports of `make up` (the test run uses its own, see deploy/local/test.sh).
export KAFKA_PORT ?= 9092
export REGISTRY_PORT ?= 8081
export S3_PORT ?= 9000
export GATEWAY_PORT ?= 8080

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed ## install npm packages, Kafka jars, the Python readers (and Debian packages, as root)
	@bash $(STACK) system
	@bash $(STACK) fetch-kafka
	@bash $(STACK) python

kafka: install ## start a single-node KRaft Kafka on 127.0.0.1:$(KAFKA_PORT)
	@bash $(STACK) kafka

registry: kafka ## start the schema registry on 127.0.0.1:$(REGISTRY_PORT)
	@bash $(STACK) service schema-registry services/schema-registry/src/main.ts \
	  PORT=$(REGISTRY_PORT) KAFKA_BROKERS=127.0.0.1:$(KAFKA_PORT)
	@bash $(STACK) wait-port $(REGISTRY_PORT) schema-registry

s3: install ## start the S3 API stand-in (moto) on 127.0.0.1:$(S3_PORT)
	@bash $(STACK) s3

up: install ## start Kafka, the registry, S3 and the Sluice services with the sample workspace
	@bash deploy/local/up.sh

down: ## stop everything `make up` started (by pid)
	@bash deploy/local/down.sh

test: install ## start what the tests need, run unit and integration tests, stop it again
	@bash deploy/local/test.sh

test-unit: node_modules/.installed ## unit tests only (nothing to start)
	npx jest --selectProjects unit

typecheck: node_modules/.installed ## TypeScript strict check of every workspace
	npm run typecheck

lint: node_modules/.installed ## eslint and prettier
	npm run lint
	npm run format:check

bench: install ## run every benchmark against a local stack (figures in docs/benchmarks.md)
	@bash deploy/local/bench.sh

.PHONY: help install kafka registry s3 up down test test-unit typecheck lint bench
