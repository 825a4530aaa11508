#!/usr/bin/env bash
# Benchmark: free-text search and rule evaluation over a synced 100,000-user company.
#
#   benches/watch.sh [USERS]
#
# lpgate: `lpgate bench watch` syncs the company into a temporary store, then times ranked
# searches through the store API (a mix of name prefixes, full names, surnames and address
# words taken from the data, each run 3 times) and the built-in rules (evaluate + record
# findings). Baseline, in the same run: Python's sqlite3 running the bare FTS5 MATCH … ORDER
# BY rank LIMIT 20 for the same queries on the same index file (no joins, no API).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
. benches/lib.sh
build_lpgate
trap 'kill ${emu_pid:-} 2>/dev/null || true; rm -rf "$work" "${keep:-/nonexistent}"' EXIT
start_emulator "$users" --groups 2000 --folders 5000
line=$(LPGATE_BENCH_KEEP=1 "$bin" bench watch --url "$url" --cid "$cid" --provhash-file "$work/hash")
echo "$line"
keep=$(sed -E 's/.* dir=([^ ]+).*/\1/' <<<"$line")
python3 - "$keep" <<'PY'
import sqlite3, sys, time, re
d = sys.argv[1]
con = sqlite3.connect(f"file:{d}/bench.sqlite?mode=ro", uri=True)
qs = [q for q in open(f"{d}/queries.txt").read().split("\n") if q.strip()]
def expr(q):
    words = [w.lower() for w in re.split(r"[^\w]+", q) if w]
    return " ".join(f'"{w}"*' for w in words)
times = []
for _ in range(3):
    for q in qs:
        t = time.perf_counter()
        con.execute("SELECT rowid, title FROM search WHERE search MATCH ? ORDER BY rank LIMIT 20", (expr(q),)).fetchall()
        times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"baseline (python sqlite3, bare FTS5 query): median {times[len(times)//2]:.3f} ms, p99 {times[int((len(times)-1)*0.99)]:.3f} ms over {len(times)} searches")
PY
get() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$line"; }
printf 'lpgate search: median %s ms (target < 3), p99 %s ms (target < 20)\n' "$(get search_median_ms)" "$(get search_p99_ms)"
printf 'lpgate built-in rules after a sync: %s s first evaluation, %s s again (target < 1)\n' "$(get rules_first_s)" "$(get rules_again_s)"
printf 'search index ready %s s after the first sync returned\n' "$(get index_wait_s)"
