#!/usr/bin/env bash
# Benchmark: the SCIM server's read rate and tail latency against the machine's HTTP floor
# (../shared/bench/floor, a bare axum server answering a fixed SCIM list) loaded with the same
# wrk command in the same run, and the time of sequential creates through to LastPass.
#
#   benches/scim.sh [USERS] [DURATION] [CREATES]   # defaults: 100000 users, 10s per run, 1000
#
# Syncs a USERS-user emulated company into a fresh data dir, makes the account's SCIM token,
# starts `lpgate serve --no-scheduler` (the emulator keeps running: creates reach it), then
# runs `wrk -t2 -c16 -d DURATION --latency` against the floor's GET /scim/v2/Users, lpgate's
# GET /scim/v2/Users?filter=userName eq "…" and GET /scim/v2/Users/{id} (one fixed existing
# user), and finally POSTs CREATES new users one after another (each a plan applied with
# batchadd and the user re-read from the emulator before the reply). Prints requests/s,
# lpgate's share of the floor, p99, and the creates' total time.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
duration=${2:-10s}
creates=${3:-1000}
. benches/lib.sh
build_lpgate
prepare_http_floor
trap 'kill ${emu_pid:-} ${serve_pid:-} ${floor_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_emulator "$users"

export LPGATE_DATA_DIR="$work/data"
"$bin" init >/dev/null
"$bin" account add bench --cid "$cid" --provhash-file "$work/hash" --url "$url" >/dev/null
"$bin" sync bench >&2
token=$("$bin" scim token create --account bench 2>/dev/null)

start_serve_and_floor
auth="Authorization: Bearer $token"
# A fixed existing user: the 500th of the first 1,000.
read -r id name < <(curl -sf -H "$auth" "$api/scim/v2/Users?count=1000" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["Resources"]; u=r[min(499, len(r)-1)]; print(u["id"], u["userName"])')
filter=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote("userName eq \"%s\"" % sys.argv[1]))' "$name")
test "$(curl -sf -H "$auth" "$api/scim/v2/Users?filter=$filter" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totalResults"])')" = 1
curl -sf -H "$auth" "$api/scim/v2/Users/$id" >/dev/null

read -r _ floor_rps floor_p99 < <(run floor "$floor/scim/v2/Users")
read -r _ filter_rps filter_p99 < <(run filter "$api/scim/v2/Users?filter=$filter" -H "$auth")
read -r _ one_rps one_p99 < <(run one "$api/scim/v2/Users/$id" -H "$auth")

# Sequential creates on one kept-alive connection, each checked to be 201.
create_secs=$(python3 - "$api" "$token" "$creates" <<'PY'
import http.client, json, sys, time, urllib.parse
api, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlparse(api)
c = http.client.HTTPConnection(u.hostname, u.port)
h = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}
t0 = time.monotonic()
for i in range(n):
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"scim-bench-{i}@bench.example", "externalId": f"ext-{i}",
            "name": {"givenName": "Bench", "familyName": f"User {i}"}, "active": True}
    c.request("POST", "/scim/v2/Users", json.dumps(body), h)
    r = c.getresponse()
    data = r.read()
    if r.status != 201:
        sys.exit(f"create {i}: {r.status} {data[:300]!r}")
print(f"{time.monotonic() - t0:.2f}")
PY
)
printf 'floor GET /scim/v2/Users: %.0f requests/s, p99 %.2f ms\n' "$floor_rps" "$floor_p99"
printf 'lpgate GET /scim/v2/Users?filter=userName eq: %.0f requests/s = %s %% of the floor (target >= 30 %%), p99 %.2f ms (target < 20)\n' \
  "$filter_rps" "$(share "$filter_rps" "$floor_rps")" "$filter_p99"
printf 'lpgate GET /scim/v2/Users/{id}: %.0f requests/s = %s %% of the floor (target >= 30 %%), p99 %.2f ms (target < 20)\n' \
  "$one_rps" "$(share "$one_rps" "$floor_rps")" "$one_p99"
printf 'lpgate %s sequential POST /scim/v2/Users through to the emulator: %s s (target < 10 s for 1,000)\n' "$creates" "$create_secs"
