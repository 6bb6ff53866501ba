#!/usr/bin/env bash
# `make up`: Kafka, the schema registry, the S3 stand-in and every Sluice
# service, wired to the sample workspace. `make down` stops them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STACK="$ROOT/deploy/local/stack.sh"
export SLUICE_LOCAL="${SLUICE_LOCAL:-$ROOT/.local}"
export KAFKA_PORT="${KAFKA_PORT:-9092}" S3_PORT="${S3_PORT:-9000}"
REGISTRY_PORT="${REGISTRY_PORT:-8081}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
WORKSPACE_FILE="${WORKSPACE_FILE:-$ROOT/config/workspace.example.json}"
LAKE_DIR="${LAKE_DIR:-$SLUICE_LOCAL/lake}"
mkdir -p "$LAKE_DIR"

COMMON=(KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" SCHEMA_REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT"
  WORKSPACE_FILE="$WORKSPACE_FILE" LOG_LEVEL="${LOG_LEVEL:-info}")

# The bundled services, always from the current sources (under a second).
node deploy/build.mjs
bash "$STACK" kafka
bash "$STACK" s3
if ! [ -f "$SLUICE_LOCAL/run/schema-registry.pid" ]; then bash "$STACK" port-free "$REGISTRY_PORT" schema-registry; fi
bash "$STACK" service schema-registry services/schema-registry/src/main.ts \
  PORT="$REGISTRY_PORT" KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" METRICS_PORT=0
bash "$STACK" wait-port "$REGISTRY_PORT" schema-registry

started=()
start_if_present() {
  local name=$1; shift
  local entry="services/$name/src/main.ts"
  if [ -f "$entry" ]; then
    # Services that ship as a bundle (decision 0507) run from dist/, built here from the sources.
    if [ -f "dist/$name/main.js" ]; then entry="dist/$name/main.js"; fi
    bash "$STACK" service "$name" "$entry" "${COMMON[@]}" "$@"
    started+=("$name")
  fi
}
start_if_present gateway PORT="$GATEWAY_PORT" METRICS_PORT=9464
start_if_present processor METRICS_PORT=9465
start_if_present router METRICS_PORT=9466
start_if_present warehouse-loader METRICS_PORT=9467 LAKE_URL="$LAKE_DIR"
start_if_present kafka-source METRICS_PORT=9468
# "Sluice is up" means the gateway takes events: wait until it listens.
if [ -f services/gateway/src/main.ts ]; then bash "$STACK" wait-port "$GATEWAY_PORT" gateway; fi

cat <<INFO

Sluice is up.
  Kafka            127.0.0.1:$KAFKA_PORT
  Schema registry  http://127.0.0.1:$REGISTRY_PORT
  S3 API (moto)    http://127.0.0.1:$S3_PORT
  Workspace        $(realpath --relative-to="$ROOT" "$WORKSPACE_FILE")
  Lake (Delta)     $(realpath --relative-to="$ROOT" "$LAKE_DIR")
  Services         ${started[*]:-none}
  Logs             $(realpath --relative-to="$ROOT" "$SLUICE_LOCAL/logs")
INFO
if [ -f services/gateway/src/main.ts ]; then
  cat <<INFO

Send an event:
  curl -u sample-write-key: -H 'content-type: application/json' \\
    -d '{"userId":"u1","event":"Signed Up","properties":{"plan":"pro"}}' \\
    http://127.0.0.1:$GATEWAY_PORT/v1/track
INFO
fi
echo
echo "Stop everything with: make down"
