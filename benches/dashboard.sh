#!/usr/bin/env bash
# Benchmark: server-side render time of the dashboard's pages and of search-as-you-type.
#
#   benches/dashboard.sh [USERS] [REQUESTS]      # defaults: 100000 users, 100 requests a page
#
# Syncs a USERS-user emulated company into a fresh data dir, creates an admin token, starts
# `lpgate serve --no-scheduler`, signs in through the form like a browser (CSRF cookie and
# field, then the session cookie), then times REQUESTS sequential requests of each main page
# on one keep-alive connection (after 5 warm-up requests) and htmx searches for REQUESTS
# different prefixes typed letter by letter. Prints p50 and p95 per page.
# Targets (issue 8): every page p95 < 50 ms, search-as-you-type p95 < 30 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
requests=${2:-100}
. benches/lib.sh
build_lpgate
bin=${CARGO_TARGET_DIR:-target}/release/lpgate
trap 'kill ${emu_pid:-} ${serve_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_emulator "$users"

export LPGATE_DATA_DIR="$work/data"
"$bin" init >/dev/null
"$bin" account add bench --cid "$cid" --provhash-file "$work/hash" --url "$url" >/dev/null
"$bin" sync bench >&2
"$bin" rules check >/dev/null 2>&1 || true
kill "$emu_pid" 2>/dev/null || true # reads come from the store
token=$("$bin" token create bench --scope admin)

"$bin" serve --bind 127.0.0.1:0 --no-scheduler >"$work/serve.ready" 2>/dev/null &
serve_pid=$!
for _ in $(seq 1 300); do grep -q serving "$work/serve.ready" 2>/dev/null && break; sleep 0.1; done
api=$(sed -E 's/.*serving on (http[^ ]+).*/\1/' "$work/serve.ready")

python3 - "$api" "$token" "$requests" <<'PY'
import http.client, json, re, sys, time, urllib.parse
api, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlparse(api)
conn = http.client.HTTPConnection(u.hostname, u.port)
cookies = {}

def req(method, path, body=None, headers=None):
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    h.update(headers or {})
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    t = time.perf_counter()
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    took = (time.perf_counter() - t) * 1000
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            kv = v.split(";", 1)[0]
            name, _, val = kv.partition("=")
            cookies[name] = val
    return r.status, data.decode(), took

status, page, _ = req("GET", "/ui/sign-in")
csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
status, _, _ = req("POST", "/ui/sign-in", urllib.parse.urlencode({"csrf": csrf, "token": token}))
assert status == 303, status
# A user in the middle of the list, and prefixes to type.
status, page, _ = req("GET", "/ui/users")
ids = re.findall(r'href="/ui/users/(\d+)"', page)
emails = re.findall(r'href="/ui/users/\d+">([^<]+)</a>', page)
uid = ids[len(ids) // 2]

def measure(name, paths, headers=None):
    for p in paths[:5]:
        req("GET", p, headers=headers)
    times = []
    for i in range(n):
        p = paths[i % len(paths)]
        status, body, took = req("GET", p, headers=headers)
        if status != 200:
            sys.exit(f"{name}: {p}: {status}")
        times.append(took)
    times.sort()
    p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95) - 1]
    return name, p50, p95

rows = []
for name, path in [
    ("overview", "/ui"), ("users", "/ui/users"), ("users admin filter", "/ui/users?admin=yes"),
    ("user page", f"/ui/users/{uid}"), ("groups", "/ui/groups"), ("folders", "/ui/folders"),
    ("findings", "/ui/findings"), ("changes", "/ui/changes"), ("events", "/ui/events"),
    ("sync runs", "/ui/runs"), ("notifications", "/ui/notifications"), ("plans", "/ui/plans"),
    ("audit", "/ui/audit"), ("reports", "/ui/reports"),
    ("users by name", "/ui/users?sort=name"),
    ("users by last login, p3", "/ui/users?sort=-last_login&offset=100"),
]:
    rows.append(measure(name, [path]) + (50,))
# Search as you type: each keystroke of several emails' local parts, as htmx sends them.
typed = []
for e in emails[:20]:
    local = e.split("@")[0]
    typed += [f"/ui/users?q={urllib.parse.quote(local[:k])}" for k in range(1, len(local) + 1)]
rows.append(measure("search-as-you-type", typed, {"HX-Request": "true"}) + (30,))
# What no word starts with: the substring fallback, a scan of every user (a typo, a fragment
# inside a word).
rows.append(measure("search, no word match", ["/ui/users?q=qzx", "/ui/users?q=xqzv"],
                    {"HX-Request": "true"}) + (30,))
fail = False
for name, p50, p95, target in rows:
    ok = p95 < target
    fail |= not ok
    print(f"{name:22} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (target p95 < {target} ms) {'ok' if ok else 'OVER'}")
sys.exit(1 if fail else 0)
PY
