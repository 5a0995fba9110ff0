#!/bin/sh
# npm run chaos: install, build, bring up what the suite needs, then run the chaos suite (it starts its own Redis,
# FerretDB, Dovecot, SMTP capture and Slack stand-in; the shared services only serve the build step).
set -eu
ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$ROOT"
sh "$ROOT/scripts/ensure.sh"
exec npx tsx chaos/run.ts "$@"
