#!/usr/bin/env bash
# Benchmark: many accounts synced by `lpgate serve` workers sharing one PostgreSQL store, and
# free-text search over everything they stored (issue 9's throughput and search targets).
#
#   benches/pg_workers.sh [ACCOUNTS] [USERS] [LATENCY_MS]     (default 500 2000 50)
#
# One emulator process serves ACCOUNTS distinct generated companies (seeds 1…, cids
# 20000000…; requests reach a company by their cid, as on LastPass's one URL), each of USERS
# users, every reply delayed by LATENCY_MS. Then, each into a fresh store:
#
# - PostgreSQL, one worker (target: all accounts synced in under 60 s at 500 × 2,000, 50 ms);
# - PostgreSQL, two workers (target: under 35 s);
# - SQLite, one worker, for at most SQLITE_CAP seconds (the baseline of the same run, as a
#   rate: SQLite syncs one account at a time).
#
# A run's time is from the workers' start until every account has one succeeded sync run.
# `lpgate bench search` measures search over the two-worker PostgreSQL store, just after its
# sync and again once autovacuum is done with it, and over the SQLite one (targets on
# PostgreSQL at 1,000,000 users: median < 20 ms, p99 < 100 ms).
#
# Starts a private PostgreSQL cluster (scripts/pg-test-cluster) unless LPGATE_BENCH_POSTGRES
# names a server. SYNC_CONCURRENCY sets `[serve] sync_concurrency` (default: the config's).
# LPGATE_BIN runs an lpgate binary already built instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-500}
users=${2:-2000}
latency=${3:-50}
. benches/lib.sh
if [ -n "${LPGATE_BIN:-}" ]; then
  bin=$LPGATE_BIN
  work=$(mktemp -d)
else
  build_lpgate
  bin=${CARGO_TARGET_DIR:-target}/release/lpgate
fi
pg_dir=""
workers=()
cleanup() {
  for p in "${workers[@]}"; do kill "$p" 2>/dev/null || true; done
  kill ${emu_pid:-} 2>/dev/null || true
  [ -n "$pg_dir" ] && scripts/pg-test-cluster stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT

first_cid=20000000
"$bin" emulator --users "$users" --companies "$accounts" --latency-ms "$latency" --seed 1 \
  --cid "$first_cid" >"$work/ready" &
emu_pid=$!
for _ in $(seq 1 1200); do grep -q listening "$work/ready" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/ready" || { echo "the emulator did not start" >&2; exit 1; }
read -r _ _ _ url _ hashkv <"$work/ready"
printf '%s' "${hashkv#provhash=}" >"$work/hash"
chmod 600 "$work/hash"

server=${LPGATE_BENCH_POSTGRES:-}
if [ -z "$server" ]; then
  pg_dir=$(mktemp -d /tmp/lpgate-pg-bench.XXXXXX)
  eval "$(scripts/pg-test-cluster start "$pg_dir")"
  server=$LPGATE_TEST_POSTGRES
fi

# prepare NAME STORE: a data directory with ACCOUNTS accounts on the fleet, interval one hour.
prepare() {
  local dir="$work/$1" store=$2
  mkdir -p "$dir"
  "$bin" --data-dir "$dir" --store "$store" init >/dev/null
  if [ -n "${SYNC_CONCURRENCY:-}" ]; then
    sed -i "s/^sync_concurrency = .*/sync_concurrency = $SYNC_CONCURRENCY/" "$dir/lpgate.toml"
  fi
  # SQLite syncs one at a time whatever the setting (its one writer); said here for binaries
  # built before lpgate enforced it.
  case $store in sqlite:*) sed -i "s/^sync_concurrency = .*/sync_concurrency = 1/" "$dir/lpgate.toml" ;; esac
  seq 0 $((accounts - 1)) | xargs -P 4 -I{} sh -c \
    "'$bin' --data-dir '$dir' --store '$store' account add client-{} --cid \$(($first_cid + {})) \
       --provhash-file '$work/hash' --url '$url' --interval-secs 3600 --no-check >/dev/null 2>&1"
  local n
  n=$("$bin" --data-dir "$dir" --store "$store" account list --format json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
  [ "$n" -eq "$accounts" ] || { echo "$1: only $n of $accounts accounts were added" >&2; exit 1; }
}

# The count of accounts with a succeeded sync run is read by one long-lived psql (or python,
# for SQLite) for the whole run: a new client every 0.2 s took about a tenth of the two cores
# (psql plus its PostgreSQL backend's start-up) from the workers being measured.
count_sql="SELECT COUNT(DISTINCT account_id) FROM sync_runs WHERE outcome = 'succeeded';"
# start_poll STORE: starts the reader as coprocess POLL.
start_poll() {
  case $1 in
    postgres*) coproc POLL { psql "$1" -tAq; } ;;
    *) coproc POLL { python3 -u -c "
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for line in sys.stdin:
    print(db.execute(line).fetchone()[0])
" "${1#sqlite:}"; } ;;
  esac
}
# poll: sets done_count from the reader.
poll() {
  echo "$count_sql" >&"${POLL[1]}"
  read -r done_count <&"${POLL[0]}"
}
stop_poll() {
  local pid=$POLL_PID
  eval "exec ${POLL[1]}>&-"
  wait "$pid" 2>/dev/null || true
}

# run NAME STORE WORKERS [CAP]: starts the workers, waits until every account has synced (or
# CAP seconds passed), prints the seconds taken and the accounts synced, stops the workers.
run() {
  local name=$1 store=$2 n=$3 cap=${4:-100000} t0 done_count
  workers=()
  t0=$(date +%s.%N)
  for i in $(seq 1 "$n"); do
    "$bin" --data-dir "$work/$name" --store "$store" serve --bind 127.0.0.1:0 \
      >"$work/$name.serve$i.log" 2>&1 &
    workers+=($!)
  done
  start_poll "$store"
  while :; do
    poll
    [ "$done_count" -ge "$accounts" ] && break
    (( ${EPOCHREALTIME%.*} - ${t0%.*} < cap )) || break
    for p in "${workers[@]}"; do
      kill -0 "$p" 2>/dev/null || { echo "a worker of $name died" >&2; cat "$work/$name".serve*.log >&2; exit 1; }
    done
    sleep 0.2
  done
  local t1
  t1=$(date +%s.%N)
  stop_poll
  for p in "${workers[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${workers[@]}"; do wait "$p" 2>/dev/null || true; done
  workers=()
  python3 -c "print(f'{$t1 - $t0:.2f} $done_count')"
}

newdb() {
  psql "$server" -qc "CREATE DATABASE $1" >&2
  echo "${server%/*}/$1"
}

pg1=$(newdb "workers1_$$")
prepare pg1 "$pg1"
read -r t_pg1 _ < <(run pg1 "$pg1" 1)
echo "PostgreSQL, one worker: $accounts accounts synced in $t_pg1 s" >&2

pg2=$(newdb "workers2_$$")
prepare pg2 "$pg2"
read -r t_pg2 _ < <(run pg2 "$pg2" 2)
echo "PostgreSQL, two workers: $accounts accounts synced in $t_pg2 s" >&2
# Search is measured twice: just after the sync, while autovacuum is still working through
# the million new rows, and once no autovacuum runs on the database any more (at most 300 s
# later), as a store that is searched between syncs is. The targets are for the second.
search_pg_busy=$("$bin" --data-dir "$work/pg2" --store "$pg2" bench search)
echo "postgres, just after the sync: $search_pg_busy"
t_wait0=$EPOCHREALTIME
for _ in $(seq 1 300); do
  busy=$(psql "$pg2" -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND datname = current_database()")
  [ "$busy" = 0 ] && break
  sleep 1
done
settle_s=$(python3 -c "print(f'{$EPOCHREALTIME - $t_wait0:.0f}')")
search_pg=$("$bin" --data-dir "$work/pg2" --store "$pg2" bench search)
echo "postgres, settled ($settle_s s later): $search_pg"

# SQLite syncs one account at a time: at most SQLITE_CAP seconds (default 120) of it, and
# its rate is compared; its search runs over what it stored by then.
sqlite_store="sqlite:$work/sqlite1/lpgate.sqlite"
prepare sqlite1 "$sqlite_store"
read -r t_sqlite n_sqlite < <(run sqlite1 "$sqlite_store" 1 "${SQLITE_CAP:-120}")
echo "SQLite, one worker: $n_sqlite accounts synced in $t_sqlite s" >&2
search_sqlite=$("$bin" --data-dir "$work/sqlite1" --store "$sqlite_store" bench search)
echo "sqlite: $search_sqlite"
get() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }

total=$((accounts * users))
printf '%s accounts x %s users (%s), %s ms per LastPass call:\n' "$accounts" "$users" "$total" "$latency"
printf '  PostgreSQL, one worker:  %s s (target < 60)\n' "$t_pg1"
printf '  PostgreSQL, two workers: %s s (target < 35)\n' "$t_pg2"
printf '  SQLite, one worker (one sync at a time): %s accounts in %s s, %s accounts/s (PostgreSQL one worker: %s accounts/s)\n' \
  "$n_sqlite" "$t_sqlite" "$(python3 -c "print(f'{$n_sqlite / $t_sqlite:.1f}')")" "$(python3 -c "print(f'{$accounts / $t_pg1:.1f}')")"
printf 'search over %s users: PostgreSQL median %s ms, p99 %s ms (targets < 20, < 100; just after the sync: %s ms, %s ms); SQLite over its %s users: median %s ms, p99 %s ms\n' \
  "$(get users "$search_pg")" "$(get search_median_ms "$search_pg")" "$(get search_p99_ms "$search_pg")" \
  "$(get search_median_ms "$search_pg_busy")" "$(get search_p99_ms "$search_pg_busy")" \
  "$(get users "$search_sqlite")" "$(get search_median_ms "$search_sqlite")" "$(get search_p99_ms "$search_sqlite")"
