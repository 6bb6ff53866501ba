#!/usr/bin/env bash
# `make test`: a fresh broker, the schema registry and the S3 stand-in on test
# ports, then every jest project, then stop exactly what was started here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STACK="$ROOT/deploy/local/stack.sh"

export SLUICE_LOCAL="${SLUICE_LOCAL:-$ROOT/.local}"
export KAFKA_PORT="${TEST_KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
export S3_PORT="${TEST_S3_PORT:-19000}"
REGISTRY_PORT="${TEST_REGISTRY_PORT:-18081}"

export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export SCHEMA_REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT"
export S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export SLUICE_PYTHON="$SLUICE_LOCAL/venv/bin/python"
export SLUICE_SNOWFLAKE_PYTHON="$SLUICE_LOCAL/venv-snowflake/bin/python"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
export KAFKAJS_NO_PARTITIONER_WARNING=1

cleanup() {
  local rc=$?
  bash "$STACK" fresh-stack-stop test-schema-registry
  exit $rc
}
trap cleanup EXIT INT TERM

bash "$STACK" fresh-stack test-schema-registry "$REGISTRY_PORT"

npm run typecheck
# --forceExit: a client library's stray timer must not hold CI open once every test has finished.
npx jest --ci --forceExit "$@"
