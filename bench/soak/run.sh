#!/usr/bin/env bash
# Soak test of a long-running `serve`: bash bench/soak/run.sh sqlite|postgres SECONDS PORT
#
# Runs the binary (SOAK_BIN, default dist/taskmgr-soak from bench/soak/build-frequent.sh: every job
# each minute, the log rotated at 1 MB) as an operator would — log folder, TOMBSTONE_RETENTION_DAYS=0
# and SYNC_LOG_RETENTION_DAYS=0 so that the cleanups delete at every run, access tokens of 30 s and
# refresh tokens of 120 s so that refreshes and token cleanup happen — on a fresh SQLite file or a
# fresh Postgres database (BENCH_PG_URL's server, default postgres://postgres@127.0.0.1:5432; named
# qasoak_<time>, dropped afterwards). Two organizations, 2 users each; bench/soak/load.ts drives 6
# devices for SECONDS (push/pull, REST writes, conflicts and their resolution, logins, refreshes,
# logouts, 400/401/404/422s, requests cut off mid-body; about 25 requests/s), while
# bench/soak/sample.ts samples every 30 s (RSS, fds, database and WAL, log files, p50/p99 of an
# incremental pull and of GET /api/tasks?page_size=50, Postgres connections). Then the server gets
# SIGTERM. Output in bench/results/soak-<dialect>/; summary: bun bench/soak/report.ts DIR.
set -u
D=$1; SECS=$2; PORT=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${SOAK_BIN:-$ROOT/dist/taskmgr-soak}
[ -x "$BIN" ] || { echo "no $BIN: run bash bench/soak/build-frequent.sh (or set SOAK_BIN)" >&2; exit 1; }
BUN=$ROOT/node_modules/.bin/bun
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
OUT=$ROOT/bench/results/soak-$D; rm -rf "$OUT"; mkdir -p "$OUT/data" "$OUT/logs"
if [ "$D" = sqlite ]; then DB="sqlite:$OUT/data/taskmgr.db"; else
  DBN=qasoak_$(date +%s); psql "$PG" -qc "CREATE DATABASE $DBN" || exit 1; DB="${PG%/*}/$DBN"; fi
echo "$DB" > "$OUT/db_url"
export DATABASE_URL=$DB LOG_DIR=$OUT/logs TASKMGR_DATA_DIR=$OUT/data TOMBSTONE_RETENTION_DAYS=0 SYNC_LOG_RETENTION_DAYS=0 \
  ACCESS_TOKEN_TTL_SECONDS=30 REFRESH_TOKEN_TTL_SECONDS=120 LOG_LEVEL=info PORT=$PORT HOST=127.0.0.1
cd "$OUT"  # no .env here
for o in 1 2; do
  "$BIN" orgs create "Org $o" --slug org$o >/dev/null
  "$BIN" users create --org org$o --email u${o}1@org$o.test --role admin --password soak-password-1 >/dev/null
  "$BIN" users create --org org$o --email u${o}2@org$o.test --role member --password soak-password-1 >/dev/null
done
"$BIN" users create --org org1 --email probe@org1.test --role member --password soak-password-1 >/dev/null
"$BIN" serve > "$OUT/stdout.log" 2> "$OUT/stderr.log" &
SPID=$!; echo $SPID > "$OUT/server.pid"
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.2; done
echo "server pid $SPID started $(date -u +%T)"
"$BUN" "$ROOT/bench/soak/sample.ts" "http://127.0.0.1:$PORT" $SPID $((SECS+20)) "$OUT" "$DB" "$OUT/logs" 30 > "$OUT/sampler.out" 2>&1 &
SAMP=$!
"$BUN" "$ROOT/bench/soak/load.ts" "http://127.0.0.1:$PORT" $SECS "$OUT" > "$OUT/load.out" 2>&1
wait $SAMP
"$BIN" jobs list --json > "$OUT/jobs-list.json" 2>&1
kill -TERM $SPID; wait $SPID; echo "server exit $?" | tee "$OUT/server-exit"
[ "$D" = sqlite ] || psql "$PG" -qc "DROP DATABASE IF EXISTS $DBN WITH (FORCE)"
"$BUN" "$ROOT/bench/soak/report.ts" "$OUT"
