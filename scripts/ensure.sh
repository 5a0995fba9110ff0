#!/bin/sh
# Makes a fresh clone runnable: Node check, dependencies, build, local services. Safe to run from any directory.
set -eu

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$ROOT"

say() { printf '%s\n' "$*"; }

if ! command -v node >/dev/null 2>&1; then
  say "✗ Node.js 20.19 or newer is needed and none is on PATH: install it from https://nodejs.org/ (or nvm install 20)" >&2
  exit 1
fi
NODE_VERSION=$(node -p 'process.versions.node')
NODE_MAJOR=${NODE_VERSION%%.*}
NODE_MINOR=${NODE_VERSION#*.}
NODE_MINOR=${NODE_MINOR%%.*}
if [ "$NODE_MAJOR" -lt 20 ] || { [ "$NODE_MAJOR" -eq 20 ] && [ "$NODE_MINOR" -lt 19 ]; }; then
  say "✗ Node.js $NODE_VERSION is too old: Countersign needs 20.19 or newer (https://nodejs.org/, or nvm install 20)" >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lockfile (npm writes node_modules/.package-lock.json).
STAMP=node_modules/.package-lock.json
if [ ! -f "$STAMP" ] || [ -n "$(find package-lock.json -newer "$STAMP" 2>/dev/null)" ]; then
  say "› installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# Rebuild dist/ unless the last successful build is newer than every source file and the configs.
BUILD_STAMP=dist/.build-stamp
if [ ! -f "$BUILD_STAMP" ] || [ ! -f dist/main.js ] ||
  [ -n "$(find main.ts src handlers agents templates package-lock.json tsconfig.json -newer "$BUILD_STAMP" 2>/dev/null | head -n 1)" ]; then
  say "› building (tsc -p tsconfig.json)…"
  npx tsc -p tsconfig.json
  : >"$BUILD_STAMP"
fi

node dist/main.js services up
