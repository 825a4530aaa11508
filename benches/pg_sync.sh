#!/usr/bin/env bash
# Benchmark: the first full sync of one account into PostgreSQL (target: 100,000 users in
# under 5 s), beside the same sync into SQLite in the same run, on the same emulated company.
#
#   benches/pg_sync.sh [USERS]
#
# Starts a private PostgreSQL cluster (scripts/pg-test-cluster) unless LPGATE_BENCH_POSTGRES
# names a server; each run syncs into a fresh database. Prints lpgate bench sync's figures
# for both stores, best of 3.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
. benches/lib.sh
build_lpgate
bin=${CARGO_TARGET_DIR:-target}/release/lpgate
pg_dir=""
cleanup() {
  kill ${emu_pid:-} 2>/dev/null || true
  [ -n "$pg_dir" ] && scripts/pg-test-cluster stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT
start_emulator "$users" --groups 2000 --folders 5000
server=${LPGATE_BENCH_POSTGRES:-}
if [ -z "$server" ]; then
  pg_dir=$(mktemp -d /tmp/lpgate-pg-bench.XXXXXX)
  eval "$(scripts/pg-test-cluster start "$pg_dir")"
  server=$LPGATE_TEST_POSTGRES
fi
best() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }
get() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$line"; }
sqlite=(); pg=(); pg_resync=(); line=""
for run in 1 2 3; do
  line=$("$bin" bench sync --url "$url" --cid "$cid" --provhash-file "$work/hash")
  echo "sqlite: $line"
  sqlite+=("$(get first_s)")
  db="bench_${run}_$$"
  psql "$server" -qc "CREATE DATABASE $db" >&2
  line=$("$bin" --store "${server%/*}/$db" bench sync --url "$url" --cid "$cid" --provhash-file "$work/hash")
  echo "postgres: $line"
  pg+=("$(get first_s)"); pg_resync+=("$(get resync_s)")
done
printf 'first sync of %s users into PostgreSQL (best of 3): %.3f s (target < 5); SQLite in the same run: %.3f s\n' \
  "$users" "$(best "${pg[@]}")" "$(best "${sqlite[@]}")"
printf 'PostgreSQL resync, no change (best of 3): %.3f s\n' "$(best "${pg_resync[@]}")"
