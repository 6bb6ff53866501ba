#!/usr/bin/env bash
# `make bench`: a local stack on bench ports, then every benchmark under bench/
# (or the ones named: `make bench BENCH="gateway router"`), then stop it again.
# Figures print to stdout; docs/benchmarks.md records them with the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STACK="$ROOT/deploy/local/stack.sh"
export SLUICE_LOCAL="${SLUICE_LOCAL:-$ROOT/.local}"
export KAFKA_PORT="${BENCH_KAFKA_PORT:-29092}"
export KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
export S3_PORT="${BENCH_S3_PORT:-29000}"
REGISTRY_PORT="${BENCH_REGISTRY_PORT:-28081}"
export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export SCHEMA_REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT"
export S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export SLUICE_PYTHON="$SLUICE_LOCAL/venv/bin/python"
export LOG_LEVEL="${LOG_LEVEL:-warn}" KAFKAJS_NO_PARTITIONER_WARNING=1

cleanup() {
  local rc=$?
  bash "$STACK" fresh-stack-stop bench-schema-registry
  exit $rc
}
trap cleanup EXIT INT TERM

bash "$STACK" fresh-stack bench-schema-registry "$REGISTRY_PORT"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr), node $(node -v)"
# name → entry point; each prints its own figures.
declare -A BENCHES=(
  [gateway]=bench/gateway/run.ts
  [processor]=bench/processor/run.ts
  [pipeline]=bench/processor/pipeline.ts
  [processing]=bench/processing/sandbox.ts
  [router]=bench/router/run.ts
  [lake]=bench/lake/delta-write.ts
  [parquet]=bench/lake/parquet-writers.ts
  [loader]=bench/loader/run.ts
  [e2e]=bench/e2e/run.ts
)
selected="${BENCH:-gateway processor pipeline processing router lake parquet loader e2e}"
for name in $selected; do
  entry="${BENCHES[$name]:-}"
  if [ -z "$entry" ] || [ ! -f "$entry" ]; then echo "=== bench: $name (not present, skipped)"; continue; fi
  echo "=== bench: $name ($entry)"
  node --import tsx "$entry"
done
