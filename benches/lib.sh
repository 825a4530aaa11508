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
