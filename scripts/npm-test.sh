#!/bin/sh
# npm test: install, build, bring up services, then lint, type-check, module boundaries, cycle check and the whole suite.
# Each phase says how long it took; the first failure stops the run with its exit code.
set -eu

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$ROOT"

phase() {
  name=$1
  shift
  printf '› %s\n' "$name"
  started=$(date +%s)
  rc=0
  "$@" || rc=$?
  took=$(($(date +%s) - started))
  if [ "$rc" -ne 0 ]; then
    printf '✗ %s failed (exit %s, %ss)\n' "$name" "$rc" "$took" >&2
    exit "$rc"
  fi
  printf '✓ %s (%ss)\n' "$name" "$took"
}

phase 'setup: dependencies, build, local services' sh "$ROOT/scripts/ensure.sh"
. "$ROOT/scripts/services-env.sh"
phase 'lint: biome check' npx biome check .
phase 'types: tsc -p tsconfig.test.json' npx tsc -p tsconfig.test.json --noEmit
phase 'boundaries: dependency-cruiser' npx depcruise --config .dependency-cruiser.cjs main.ts compose.ts src handlers agents templates
phase 'cycles: madge --circular' npx madge --circular --extensions ts --ts-config tsconfig.json main.ts compose.ts src handlers agents templates
phase 'dead code: knip' npx knip --no-progress
phase 'tests: vitest run' npx vitest run
