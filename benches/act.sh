#!/usr/bin/env bash
# Benchmark: a plan adding 10,000 users of a 100,000-user company to a group, computed and
# applied to the emulator in batches (rate limit lifted), then re-read into the store.
#
#   benches/act.sh [USERS]
#
# Baseline, in the same run: curl sending the same 50 batchchangegrp requests of 200 users
# one after another (the emulator's own cost of the writes).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
. benches/lib.sh
build_lpgate
trap 'kill ${emu_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_emulator "$users" --groups 2000 --folders 5000
line=$("$bin" bench act --url "$url" --cid "$cid" --provhash-file "$work/hash")
echo "$line"
# Baseline: the same kind of writes, straight to the emulator.
python3 - "$url" "$cid" "$hash" "$work" <<'PY'
import json, subprocess, sys, time, urllib.request
url, cid, hashv, work = sys.argv[1:5]
def call(cmd, data):
    body = json.dumps({"cid": int(cid), "provhash": hashv, "cmd": cmd, "data": data}).encode()
    req = urllib.request.Request(url + "/enterpriseapi.php", data=body, headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(req).read()
users = json.loads(call("getuserdata", {"pagesize": 10000, "pageindex": 0}))["Users"]
emails = [u["username"] for u in list(users.values())[:10000]]
t = time.perf_counter()
for i in range(0, len(emails), 200):
    call("batchchangegrp", [{"username": e, "add": ["Bench Baseline"], "del": []} for e in emails[i:i+200]])
print(f"baseline (python, 50 batchchangegrp calls of 200 in a row): {time.perf_counter() - t:.3f} s")
PY
get() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$line"; }
printf 'lpgate: plan of %s computed in %s s (target < 1), applied and re-read in %s s (target < 10)\n' "$(get users)" "$(get plan_s)" "$(get apply_s)"
