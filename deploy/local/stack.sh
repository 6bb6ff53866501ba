#!/usr/bin/env bash
# Local stack for machines without Docker: Apache Kafka (KRaft, from Maven
# Central), the S3 API stand-in (moto) and the Python readers used in tests.
# Every process started here records its pid under $SLUICE_LOCAL/run and is
# stopped by that pid only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SLUICE_LOCAL="${SLUICE_LOCAL:-$ROOT/.local}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
S3_PORT="${S3_PORT:-9000}"
KAFKA_HEAP="${KAFKA_HEAP:--Xmx768m -Xms256m}"
# The GC settings of Kafka's own kafka-server-start.sh: without MaxGCPauseMillis=20, G1 aims at
# 200 ms pauses, which showed up as the gateway's p99 acknowledgement latency.
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent}"
RUN_DIR="$SLUICE_LOCAL/run"
LOG_DIR="$SLUICE_LOCAL/logs"
KAFKA_LIBS="$SLUICE_LOCAL/kafka/libs"
KAFKA_DATA="$SLUICE_LOCAL/kafka/data-$KAFKA_PORT"
VENV="$SLUICE_LOCAL/venv"
mkdir -p "$RUN_DIR" "$LOG_DIR"

log() { printf '[stack] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() {
  local port=$1 name=$2 tries=${3:-120}
  for _ in $(seq "$tries"); do
    if port_open "$port"; then return 0; fi
    sleep 0.5
  done
  log "$name did not open port $port; see $LOG_DIR"
  return 1
}

fetch_kafka() {
  if [ -f "$KAFKA_LIBS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "maven (mvn) is required to fetch Kafka"; exit 1; }
  command -v java >/dev/null || { log "a Java 17+ runtime is required to run Kafka"; exit 1; }
  log "fetching Apache Kafka and its runtime dependencies with Maven (cached after the first run)"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  (cd "$ROOT/deploy/local/kafka" && mvn -q -B dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime)
  touch "$KAFKA_LIBS/.complete"
}

kafka_java() {
  java $KAFKA_HEAP $KAFKA_JVM_OPTS -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$ROOT/deploy/local/kafka/log4j.properties" \
    -Dkafka.logs.dir="$LOG_DIR/kafka-$KAFKA_PORT" \
    -cp "$KAFKA_LIBS/*" "$@"
}

start_kafka() {
  local pidfile="$RUN_DIR/kafka-$KAFKA_PORT.pid"
  if pid_alive "$pidfile"; then log "kafka already running on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  if port_open "$KAFKA_PORT"; then log "port $KAFKA_PORT is taken by another process"; exit 1; fi
  fetch_kafka
  mkdir -p "$KAFKA_DATA" "$LOG_DIR/kafka-$KAFKA_PORT"
  local props="$SLUICE_LOCAL/kafka/server-$KAFKA_PORT.properties"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$KAFKA_DATA#g" "$ROOT/deploy/local/kafka/server.properties.template" > "$props"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    local cluster_id
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$props" --ignore-formatted >/dev/null
  fi
  log "starting kafka on 127.0.0.1:$KAFKA_PORT"
  nohup java $KAFKA_HEAP $KAFKA_JVM_OPTS -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$ROOT/deploy/local/kafka/log4j.properties" \
    -Dkafka.logs.dir="$LOG_DIR/kafka-$KAFKA_PORT" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$props" > "$LOG_DIR/kafka-$KAFKA_PORT.out" 2>&1 &
  echo $! > "$pidfile"
  wait_port "$KAFKA_PORT" kafka 240
  # The port opens before the broker has registered with its controller.
  for _ in $(seq 120); do
    if grep -q "Kafka Server started\|\[KafkaRaftServer nodeId=1\] Kafka Server started" "$LOG_DIR/kafka-$KAFKA_PORT/server.log" 2>/dev/null; then
      log "kafka ready on 127.0.0.1:$KAFKA_PORT"; return 0
    fi
    sleep 0.5
  done
  log "kafka did not report started; see $LOG_DIR/kafka-$KAFKA_PORT/server.log"; return 1
}

stop_pidfile() {
  local pidfile=$1 name=$2
  if pid_alive "$pidfile"; then
    local pid; pid="$(cat "$pidfile")"
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

stop_kafka() { stop_pidfile "$RUN_DIR/kafka-$KAFKA_PORT.pid" kafka; }

reset_kafka() { stop_kafka; rm -rf "$KAFKA_DATA"; }

# Debian packages the stack and tests need: a JRE and Maven for Kafka, the venv
# module for the Python readers, redis-server for the Redis destination's tests.
system_packages() {
  local need=()
  command -v java >/dev/null || need+=(default-jre-headless)
  command -v mvn >/dev/null || need+=(maven)
  python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
  command -v redis-server >/dev/null || need+=(redis-server)
  if [ ${#need[@]} -eq 0 ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    log "missing system packages: ${need[*]} (install them with your package manager)"; exit 1
  fi
  log "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

make_venv() {
  local venv=$1 requirements=$2
  if [ -f "$venv/.complete" ] && cmp -s "$requirements" "$venv/.requirements"; then return 0; fi
  log "installing $(basename "$requirements") into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/.requirements"
  touch "$venv/.complete"
}

python_env() {
  make_venv "$VENV" "$ROOT/deploy/local/requirements.txt"
  make_venv "$SLUICE_LOCAL/venv-snowflake" "$ROOT/deploy/local/requirements-snowflake.txt"
}

start_s3() {
  local pidfile="$RUN_DIR/s3-$S3_PORT.pid"
  if pid_alive "$pidfile"; then log "s3 already running on 127.0.0.1:$S3_PORT"; return 0; fi
  python_env
  log "starting the S3 API (moto) on 127.0.0.1:$S3_PORT"
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" > "$LOG_DIR/s3-$S3_PORT.log" 2>&1 &
  echo $! > "$pidfile"
  wait_port "$S3_PORT" s3
}

stop_s3() { stop_pidfile "$RUN_DIR/s3-$S3_PORT.pid" s3; }

# A Sluice service started in the background: start_service NAME ENTRY [ENV...]
start_service() {
  local name=$1 entry=$2; shift 2
  local pidfile="$RUN_DIR/$name.pid"
  if pid_alive "$pidfile"; then log "$name already running"; return 0; fi
  log "starting $name"
  # exec all the way down, so the recorded pid is node's own and stopping it stops the service.
  # A bundle (dist/*.js, `npm run build`) runs on plain node; TypeScript sources through tsx.
  local loader=(--import tsx)
  case "$entry" in *.js) loader=() ;; esac
  (cd "$ROOT" || exit 1; exec env "$@" nohup node "${loader[@]}" "$entry" > "$LOG_DIR/$name.log" 2>&1) &
  echo $! > "$pidfile"
}

stop_service() { stop_pidfile "$RUN_DIR/$1.pid" "$1"; }

# Fails when something else already listens on the port: a stale process would
# otherwise answer in place of the one about to start.
port_free() {
  if port_open "$1"; then log "port $1 ($2) is already in use by another process; stop it first"; return 1; fi
}

# A fresh broker, the S3 stand-in and a schema registry service NAME on
# REGISTRY_PORT: what tests and benchmarks start, and stop again afterwards.
fresh_stack() {
  local name=$1 registry_port=$2
  reset_kafka
  start_kafka
  start_s3
  port_free "$registry_port" schema-registry
  start_service "$name" services/schema-registry/src/main.ts \
    PORT="$registry_port" KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" LOG_LEVEL=warn METRICS_PORT=0
  wait_port "$registry_port" schema-registry
}

fresh_stack_stop() {
  stop_service "$1" || true
  stop_s3 || true
  stop_kafka || true
}

cmd=${1:-}; shift || true
case "$cmd" in
  system) system_packages ;;
  fetch-kafka) fetch_kafka ;;
  kafka) start_kafka ;;
  kafka-stop) stop_kafka ;;
  kafka-reset) reset_kafka ;;
  python) python_env ;;
  s3) start_s3 ;;
  s3-stop) stop_s3 ;;
  service) start_service "$@" ;;
  service-stop) stop_service "$@" ;;
  wait-port) wait_port "$@" ;;
  port-free) port_free "$@" ;;
  fresh-stack) fresh_stack "$@" ;;
  fresh-stack-stop) fresh_stack_stop "$@" ;;
  *) echo "usage: $0 {system|fetch-kafka|kafka|kafka-stop|kafka-reset|python|s3|s3-stop|service NAME ENTRY [ENV..]|service-stop NAME|wait-port PORT NAME|port-free PORT NAME|fresh-stack NAME REGISTRY_PORT|fresh-stack-stop NAME}" >&2; exit 2 ;;
esac
