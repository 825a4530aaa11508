#!/usr/bin/env bash
# Benchmark: syncing a 100,000-user, 2,000-group, 5,000-folder company into the store, against
# the straightforward Python sync in ../shared/bench/baseline_sync.py measured in the same run
# on the same emulated company.
#
#   benches/sync.sh [USERS]
#
# Prints the Python baseline's time, lpgate's first sync (and peak RSS), resync with no change,
# resync with 1 % of users changed (checked to give exactly the expected change rows), and the
# ratio of the baseline to lpgate's first sync.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
baseline_py=${BASELINE_SYNC:-../shared/bench/baseline_sync.py}
. benches/lib.sh
build_lpgate
trap 'kill ${emu_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_emulator "$users" --groups 2000 --folders 5000

best_py=""
if [ -f "$baseline_py" ]; then
  for run in 1 2 3; do
    rm -f "$work/baseline.sqlite"
    t0=$(date +%s.%N)
    python3 "$baseline_py" --url "$url" --cid "$cid" --provhash "$hash" --db "$work/baseline.sqlite" >&2
    t1=$(date +%s.%N)
    t=$(python3 -c "print($t1 - $t0)")
    best_py=$(python3 -c "print(min($t, ${best_py:-1e9}))")
  done
else
  echo "baseline script not found at $baseline_py (set BASELINE_SYNC)" >&2
fi

# lpgate, best of 3 (each run syncs into a fresh store; the churn group is named per run).
best() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }
most() { python3 -c "import sys; print(max(float(x) for x in sys.argv[1:]))" "$@"; }
get() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$line"; }
firsts=(); resyncs=(); churns=(); rss=(); indexes=(); line=""
for run in 1 2 3; do
  line=$("$bin" bench sync --url "$url" --cid "$cid" --provhash-file "$work/hash")
  echo "$line"
  firsts+=("$(get first_s)"); indexes+=("$(get search_index_s)"); resyncs+=("$(get resync_s)"); churns+=("$(get churn_s)"); rss+=("$(get first_peak_rss_mb)")
done
first=$(best "${firsts[@]}"); resync=$(best "${resyncs[@]}"); churn=$(best "${churns[@]}")
printf 'lpgate first sync (best of 3): %.3f s (target <= 1.5), peak RSS at most %s MB (target <= 250)\n' "$first" "$(most "${rss[@]}")"
printf 'search index ready after the first sync (background, best of 3): %.3f s more\n' "$(best "${indexes[@]}")"
printf 'lpgate resync, no change (best of 3): %.3f s (target <= 1.0)\n' "$resync"
printf 'lpgate resync, %s users changed (best of 3): %.3f s (target <= 1.0), %s change rows (exact)\n' "$(get churn_users)" "$churn" "$(get churn_changes)"
if [ -n "$best_py" ]; then
  printf 'baseline_sync.py (best of 3): %.3f s; baseline / lpgate first sync = %.2fx (target >= 3)\n' \
    "$best_py" "$(python3 -c "print($best_py / $first)")"
fi
