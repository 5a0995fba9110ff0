#!/bin/sh
# npm run demo: install, build, bring up services, then run the demo until Ctrl-C.
set -eu
ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$ROOT"
sh "$ROOT/scripts/ensure.sh"
. "$ROOT/scripts/services-env.sh"
exec node dist/main.js demo "$@"
