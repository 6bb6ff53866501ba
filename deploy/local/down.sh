#!/usr/bin/env bash
# `make down`: stop, by pid and in reverse order, what `make up` started.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="$ROOT/deploy/local/stack.sh"
export SLUICE_LOCAL="${SLUICE_LOCAL:-$ROOT/.local}"
export KAFKA_PORT="${KAFKA_PORT:-9092}" S3_PORT="${S3_PORT:-9000}"
for name in kafka-source warehouse-loader router processor gateway schema-registry; do
  bash "$STACK" service-stop "$name"
done
bash "$STACK" s3-stop
bash "$STACK" kafka-stop
echo "stopped"
