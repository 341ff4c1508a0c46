# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
# Common settings for deploy/stack/*.sh. Source it; do not execute it.

STACK_SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$STACK_SRC_DIR/../.." && pwd)"

# Versions (see docs/stack.md for why these).
KAFKA_VERSION="${HEATWATCH_KAFKA_VERSION:-3.9.2}"
INFLUXDB_VERSION="${HEATWATCH_INFLUXDB_VERSION:-v2.7.12}"

# Build cache (outside the repo) and runtime state (inside the repo, git-ignored).
CACHE_DIR="${HEATWATCH_CACHE:-$HOME/.cache/heatwatch}"
STACK_DIR="${HEATWATCH_STACK_DIR:-$REPO_ROOT/.stack}"
LOG_DIR="$STACK_DIR/logs"
SECRETS_DIR="$STACK_DIR/secrets" # 0700: CA, broker key, passwords, tokens (never committed)
RUN_DIR="$STACK_DIR/run"

# A state dir remembers the ports it was started with ($STACK_DIR/ports, written by `up`), so
# `status`, `down` and the tests find a second instance without the variables.
saved_port() {
  [[ -f "$STACK_DIR/ports" ]] || return 0
  sed -n "s/^$1=\([0-9]*\)$/\1/p" "$STACK_DIR/ports" | head -n1
}
KAFKA_PORT="${HEATWATCH_KAFKA_PORT:-$(saved_port KAFKA_PORT)}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${HEATWATCH_KAFKA_CONTROLLER_PORT:-$(saved_port KAFKA_CONTROLLER_PORT)}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
INFLUX_PORT="${HEATWATCH_INFLUX_PORT:-$(saved_port INFLUX_PORT)}"
INFLUX_PORT="${INFLUX_PORT:-8086}"
# Security mode of the stack (docs/security.md): sasl_ssl = Kafka SASL/SCRAM-SHA-512 over TLS
# with ACLs, InfluxDB with one least-privilege token per component; plaintext = the
# development stack without TLS or authentication. Unset: a new stack is sasl_ssl (secure by
# default); an existing data dir keeps the mode it was made with (one made before secured
# stacks existed is plaintext), so a running stack is never switched under its users.
if [[ -n "${HEATWATCH_STACK_SECURITY:-}" ]]; then
  STACK_SECURITY="$HEATWATCH_STACK_SECURITY"
elif [[ -s "$STACK_DIR/security-mode" ]]; then
  STACK_SECURITY="$(cat "$STACK_DIR/security-mode")"
elif [[ -f "$STACK_DIR/kafka/data/meta.properties" ]]; then
  STACK_SECURITY=plaintext
else
  STACK_SECURITY=sasl_ssl
fi
# The InfluxDB operator token: given, or (secured stack) generated once into SECRETS_DIR.
INFLUX_TOKEN="${HEATWATCH_INFLUX_OPERATOR_TOKEN:-}"
INFLUX_ORG="${HEATWATCH_INFLUX_ORG:-heatwatch}"
INFLUX_BUCKET="${HEATWATCH_INFLUX_BUCKET:-heatwatch}"
INFLUX_USER="${HEATWATCH_INFLUX_USER:-heatwatch}"
INFLUX_PASSWORD="${HEATWATCH_INFLUX_PASSWORD:-}"
KAFKA_HEAP_OPTS="${HEATWATCH_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

KAFKA_LIB_DIR="$CACHE_DIR/kafka/$KAFKA_VERSION/libs"
INFLUXD_BIN="$CACHE_DIR/influxdb/$INFLUXDB_VERSION/bin/influxd"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# Toolchain caches kept under the build cache, so a rebuild on the same machine is fast
# and nothing lands in the repo.
go_env() {
  export GOPATH="$CACHE_DIR/go"
  export GOMODCACHE="$CACHE_DIR/go/mod"
  export GOCACHE="$CACHE_DIR/go/build"
  export GOFLAGS="-modcacherw -buildvcs=false"
  export GOTOOLCHAIN=local
  export CARGO_HOME="$CACHE_DIR/cargo"
}
