#!/usr/bin/env bash
# Benchmark: the REST API's request rate and tail latency, against the machine's HTTP floor
# (../shared/bench/floor, a bare axum server answering a fixed SCIM list) loaded with the same
# wrk command in the same run.
#
#   benches/serve.sh [USERS] [DURATION]      # defaults: 100000 users, 10s per run
#
# Syncs a USERS-user emulated company into a fresh data dir, creates a read token, starts
# `lpgate serve --no-scheduler`, then runs `wrk -t2 -c16 -d DURATION --latency` against the
# floor's GET /scim/v2/Users, lpgate's GET /v1/users/{id} (one fixed existing user) and
# GET /v1/users?limit=100 (first page). Prints requests/s, lpgate's share of the floor and p99.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
duration=${2:-10s}
. benches/lib.sh
build_lpgate
prepare_http_floor
trap 'kill ${emu_pid:-} ${serve_pid:-} ${floor_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_emulator "$users"

export LPGATE_DATA_DIR="$work/data"
"$bin" init >/dev/null
"$bin" account add bench --cid "$cid" --provhash-file "$work/hash" --url "$url" >/dev/null
"$bin" sync bench >&2
kill "$emu_pid" 2>/dev/null || true # not needed any more: reads come from the store
token=$("$bin" token create bench --scope read)

start_serve_and_floor
auth="Authorization: Bearer $token"
# A fixed existing user: the 500th of the first 1,000.
id=$(curl -sf -H "$auth" "$api/v1/users?limit=1000" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(r[min(499, len(r)-1)]["id"])')
curl -sf -H "$auth" "$api/v1/users/$id" >/dev/null

read -r _ floor_rps floor_p99 < <(run floor "$floor/scim/v2/Users")
read -r _ one_rps one_p99 < <(run one "$api/v1/users/$id" -H "$auth")
read -r _ page_rps page_p99 < <(run page "$api/v1/users?limit=100" -H "$auth")
# A cold walk: every page of 100 once, in order, by one client on one connection, so each
# user is serialized from the store rather than served from the server's cache of users.
walk=$(python3 - "$api" "$token" <<'PY'
import http.client, json, sys, time, urllib.parse
api, token = sys.argv[1], sys.argv[2]
u = urllib.parse.urlparse(api)
conn = http.client.HTTPConnection(u.hostname, u.port)
times, rows, cursor = [], 0, None
start = time.perf_counter()
while True:
    path = "/v1/users?limit=100" + (f"&cursor={cursor}" if cursor else "")
    t = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    body = r.read()
    times.append(time.perf_counter() - t)
    if r.status != 200:
        sys.exit(f"walk: {path}: {r.status}")
    page = json.loads(body)
    rows += len(page["result"])
    cursor = page["next_cursor"]
    if not cursor:
        break
total = time.perf_counter() - start
times.sort()
print(len(times), rows, total, times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000)
PY
)
read -r walk_pages walk_rows walk_secs walk_p50 walk_p99 <<<"$walk"
printf 'floor GET /scim/v2/Users: %.0f requests/s, p99 %.2f ms\n' "$floor_rps" "$floor_p99"
printf 'lpgate GET /v1/users/{id}: %.0f requests/s = %s %% of the floor (target >= 30 %%), p99 %.2f ms (target < 20)\n' \
  "$one_rps" "$(share "$one_rps" "$floor_rps")" "$one_p99"
printf 'lpgate GET /v1/users?limit=100: %.0f requests/s = %s %% of the floor (target >= 5 %%), p99 %.2f ms (target < 20)\n' \
  "$page_rps" "$(share "$page_rps" "$floor_rps")" "$page_p99"
printf 'cold walk of every page of 100 (one client, uncached users): %d pages, %d users in %.2f s; per page median %.2f ms, p99 %.2f ms\n' \
  "$walk_pages" "$walk_rows" "$walk_secs" "$walk_p50" "$walk_p99"
