#!/bin/sh
# npm run bench: install, build, bring up services, then run the benchmarks (they print a table).
set -eu
ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$ROOT"
sh "$ROOT/scripts/ensure.sh"
. "$ROOT/scripts/services-env.sh"
exec npx tsx bench/run.ts "$@"
