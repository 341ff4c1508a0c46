#!/usr/bin/env bash
# Build influxd (InfluxDB OSS 2.7.x) from the Go module proxy, with libflux (Rust) built by
# cargo through github.com/influxdata/pkg-config. Result: $CACHE_DIR/influxdb/<ver>/bin/influxd
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -x "$INFLUXD_BIN" ]]; then
  log "influxd $INFLUXDB_VERSION already built: $INFLUXD_BIN"
  exit 0
fi
if ! command -v pkg-config >/dev/null; then
  # The influxdata wrapper calls the system pkg-config (Debian package `pkg-config`).
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing Debian's pkg-config (needed by the libflux build)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pkg-config >/dev/null
  else
    die "'pkg-config' not found: install it (Debian: sudo apt-get install pkg-config)"
  fi
fi
for tool in go cargo pkg-config cc; do
  command -v "$tool" >/dev/null || die "'$tool' not found on PATH (needed to build influxd)"
done

go_env
# RUSTUP_TOOLCHAIN overrides flux's rust-toolchain.toml (it pins an old Rust that is not
# installed); --cap-lints=warn stops flux's `strict` feature failing on newer lints.
export RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-stable}"
export RUSTFLAGS="${RUSTFLAGS:---cap-lints=warn}"
# ... and RUSTFLAGS does not reach host crates when cargo gets --target (flux-core is a
# build-dependency of flux), so a rustc wrapper adds --cap-lints=warn everywhere.
export RUSTC_WRAPPER="$STACK_SRC_DIR/rustc-cap-lints.sh"
export CGO_ENABLED=1

work="$CACHE_DIR/influxdb/$INFLUXDB_VERSION"
src="$work/src"
mkdir -p "$work/bin" "$work/bootstrap"
exec > >(tee -a "$work/build.log") 2>&1
trap 'log "ERROR: building influxd $INFLUXDB_VERSION failed (line $LINENO); full log: $work/build.log"' ERR
start=$(date +%s)

if [[ ! -f "$src/go.mod" ]]; then
  log "downloading github.com/influxdata/influxdb/v2@$INFLUXDB_VERSION from the Go module proxy"
  tmpmod="$(mktemp -d)"
  (cd "$tmpmod" && go mod init heatwatch-influx-fetch >/dev/null 2>&1 &&
    go mod download -json "github.com/influxdata/influxdb/v2@$INFLUXDB_VERSION" >"$work/download.json")
  rm -rf "$tmpmod"
  moddir="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Dir"])' "$work/download.json")"
  [[ -d "$moddir" ]] || die "module download failed (see $work/download.json)"
  # go.mod has a replace directive: build inside a writable copy, not the module cache.
  rm -rf "$src.tmp" && cp -r "$moddir" "$src.tmp" && chmod -R u+w "$src.tmp" && mv "$src.tmp" "$src"
fi

cd "$src"
if [[ ! -x "$work/bootstrap/pkg-config" ]]; then
  log "building the influxdata pkg-config wrapper (version from go.mod)"
  go build -o "$work/bootstrap/pkg-config" github.com/influxdata/pkg-config
fi
export PATH="$work/bootstrap:$PATH"

log "building influxd $INFLUXDB_VERSION (libflux via cargo + go build; takes a while on 2 cores)"
ver="${INFLUXDB_VERSION#v}"
go build \
  -tags sqlite_foreign_keys,sqlite_json \
  -ldflags "-checklinkname=0 -X main.version=$ver -X main.commit=heatwatch-source-build -X main.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -o "$work/bin/influxd.tmp" ./cmd/influxd
mv "$work/bin/influxd.tmp" "$INFLUXD_BIN"
end=$(date +%s)
echo "$((end - start))" >"$work/build-seconds"
log "built $INFLUXD_BIN in $((end - start)) s"
