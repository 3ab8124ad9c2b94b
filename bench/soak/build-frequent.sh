#!/usr/bin/env bash
# Builds dist/taskmgr-soak: the binary of this checkout with every job scheduled every minute
# (`* * * * *`) and the log rotated at 1 MB instead of 15 MB (still 10 files kept), so that a soak of
# half an hour runs each job and rotates the log many times. It is built from a copy of the sources
# in a temporary folder: the checkout is not touched. Not a build to deploy.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cp -r "$ROOT/src" "$ROOT/cli" "$ROOT/migrations" "$ROOT/package.json" "$ROOT/tsconfig.json" "$ROOT/bunfig.toml" "$TMP/"
ln -s "$ROOT/node_modules" "$TMP/node_modules"
sed -i -E 's/schedule: "[^"]+"/schedule: "* * * * *"/' "$TMP"/src/jobs/cleanup-sync-logs.ts "$TMP"/src/jobs/cleanup-tombstones.ts "$TMP"/src/jobs/sync-metrics.ts
sed -i 's/size: "15M"/size: "1M"/' "$TMP/src/log/logger.ts"
n=$(grep -c 'schedule: "\* \* \* \* \*"' "$TMP"/src/jobs/{cleanup-sync-logs,cleanup-tombstones,sync-metrics}.ts | awk -F: '{s+=$2} END {print s}')
[ "$n" = 3 ] && grep -q 'size: "1M"' "$TMP/src/log/logger.ts" || { echo "build-frequent: the schedules or the log size were not found where expected" >&2; exit 1; }
mkdir -p "$ROOT/dist"
(cd "$TMP" && "$ROOT/node_modules/.bin/bun" build cli/main.ts --compile --no-compile-autoload-dotenv --no-compile-autoload-bunfig --bytecode --format=esm --outfile "$ROOT/dist/taskmgr-soak")
echo "built $ROOT/dist/taskmgr-soak"
