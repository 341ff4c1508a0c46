#!/bin/sh
# RUSTC_WRAPPER used while building libflux: flux's `strict` feature denies all warnings and
# newer rustc versions add lints, so cap lints at "warn" for every crate cargo compiles.
# (RUSTFLAGS alone is not enough: with --target, cargo does not apply it to host crates such
# as flux-core, which the flux build script depends on.)
rustc="$1"
shift
for arg in "$@"; do
  case "$arg" in
    --cap-lints | --cap-lints=*) exec "$rustc" "$@" ;;
  esac
done
exec "$rustc" "$@" --cap-lints=warn
