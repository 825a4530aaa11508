# Shared by the benchmark scripts: build lpgate, start an emulator of a generated company in
# the background, and read its ready line. Source it; it sets bin, work, url, cid, hash and
# writes the hash to "$work/hash". The caller's EXIT trap stops the emulator.
#
#   start_emulator USERS [extra lpgate emulator flags…]
build_lpgate() {
  cargo build --release -p lpgate --locked >&2
  bin=target/release/lpgate
  work=$(mktemp -d)
}

start_emulator() {
  local users=$1
  shift
  "$bin" emulator --users "$users" --seed 1 "$@" >"$work/ready" &
  emu_pid=$!
  for _ in $(seq 1 600); do grep -q listening "$work/ready" 2>/dev/null && break; sleep 0.1; done
  read -r _ _ _ url cidkv hashkv <"$work/ready"
  cid=${cidkv#cid=}
  hash=${hashkv#provhash=}
  printf '%s' "$hash" >"$work/hash"
}

# The machine's HTTP floor (../shared/bench/floor) and wrk, for the server benchmarks: builds
# the floor, installs wrk when missing, sets floor_bin.
prepare_http_floor() {
  local shared=../shared/bench
  [ -d "$shared" ] || shared=../../shared/bench # a git worktree sits one level deeper
  cargo build --release --manifest-path "$shared/floor/Cargo.toml" --target-dir /tmp/floor >&2
  floor_bin=/tmp/floor/release/floor
  if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
  fi
}

# Starts `lpgate serve --no-scheduler` and the floor on free loopback ports and waits for both;
# sets serve_pid, floor_pid, api and floor (base URLs). The caller's EXIT trap stops them.
start_serve_and_floor() {
  "$bin" serve --bind 127.0.0.1:0 --no-scheduler >"$work/serve.ready" 2>/dev/null &
  serve_pid=$!
  "$floor_bin" 127.0.0.1:0 >"$work/floor.ready" &
  floor_pid=$!
  for _ in $(seq 1 300); do
    grep -q serving "$work/serve.ready" 2>/dev/null && grep -q listening "$work/floor.ready" 2>/dev/null && break
    sleep 0.1
  done
  api=$(sed -E 's/.*serving on (http[^ ]+).*/\1/' "$work/serve.ready")
  floor=$(sed -E 's/.*listening on (http[^ ]+).*/\1/' "$work/floor.ready")
}

# run NAME URL [wrk options…]: wrk -t2 -c16 for $duration after a 2 s warm-up; prints
# "NAME rps p99_ms", and fails when any response was not 2xx.
run() {
  local name=$1 target=$2 out
  shift 2
  wrk -t2 -c16 -d2s "$@" "$target" >/dev/null
  out=$(wrk -t2 -c16 -d"$duration" --latency "$@" "$target")
  echo "$out" >&2
  python3 - "$name" <<PY
import re, sys
out = """$out"""
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errors:
    sys.exit(f"{sys.argv[1]}: {errors.group(1)} non-2xx responses")
print(sys.argv[1], rps, p99)
PY
}

# share PART WHOLE: PART as a percentage of WHOLE, one decimal.
share() { python3 -c "print(f'{100 * $1 / $2:.1f}')"; }
