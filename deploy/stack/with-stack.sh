#!/usr/bin/env bash
# Run a command with the local stack up: start it first if it is not running (a first build
# takes ~10 min, longer than any single test may), and stop it afterwards only if we started it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
started=0
if ! bash "$here/stack.sh" status >/dev/null 2>&1; then
  bash "$here/stack.sh" up
  started=1
fi
cleanup() {
  if [[ $started == 1 ]]; then
    bash "$here/stack.sh" down || true
  fi
}
trap cleanup EXIT
"$@"
