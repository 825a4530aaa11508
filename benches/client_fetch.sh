#!/usr/bin/env bash
# Benchmark: the whole directory of a 100,000-user company through lpgate's client, against the
# same pages fetched with curl in the same run (the baseline), on loopback.
#
#   benches/client_fetch.sh [USERS]
#
# Prints the emulator's serving rate (bytes of all pages / time curl took to fetch them one
# after another), the client's best and median time to fetch and parse every page into typed
# users, the client's peak RSS, and the ratio client time / curl time.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
. benches/lib.sh
build_lpgate
trap 'kill ${emu_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_emulator "$users" --groups 2000 --folders 5000
pages=$(( (users + 1999) / 2000 ))
echo "emulator: $users users at $url, $pages pages of 2000" >&2

# One curl process fetches every page over one kept-alive connection (--next), so the
# baseline measures the emulator and the loopback, not process start-up.
args=()
for ((i = 0; i < pages; i++)); do
  [ "$i" -gt 0 ] && args+=(--next)
  args+=(-s -o /dev/null -w '%{size_download}\n' -H 'Content-Type: application/json'
    --data "{\"cid\":$cid,\"provhash\":\"$hash\",\"cmd\":\"getuserdata\",\"data\":{\"pagesize\":2000,\"pageindex\":$i}}"
    "$url/enterpriseapi.php")
done
fetch_all() { curl "${args[@]}"; }
fetch_all >/dev/null  # warm-up
best_curl=999
for run in 1 2 3; do
  t0=$(date +%s.%N)
  bytes=$(fetch_all | awk '{s+=$1} END {print s}')
  t1=$(date +%s.%N)
  t=$(echo "$t1 - $t0" | bc -l)
  best_curl=$(echo "if ($t < $best_curl) $t else $best_curl" | bc -l)
done
mbps=$(echo "$bytes / 1000000 / $best_curl" | bc -l)
line=$("$bin" bench fetch --url "$url" --cid "$cid" --provhash-file "$work/hash" --repeat 5)
best_client=$(sed -E 's/.*best_s=([0-9.]+).*/\1/' <<<"$line")
median_client=$(sed -E 's/.*median_s=([0-9.]+).*/\1/' <<<"$line")
rss=$(sed -E 's/.*peak_rss_mb=([0-9.]+).*/\1/' <<<"$line")
printf 'baseline (one curl, pages one after another on one connection, no parsing): %.3f s for %.1f MB -> emulator serves %.0f MB/s (target >= 100)\n' \
  "$best_curl" "$(echo "$bytes/1000000" | bc -l)" "$mbps"
printf 'lpgate client (fetch + parse every page into typed users): best %.3f s, median %.3f s (target < 0.6 s); peak RSS %.1f MB (target < 150)\n' \
  "$best_client" "$median_client" "$rss"
printf 'ratio client/curl: %.2f\n' "$(echo "$best_client / $best_curl" | bc -l)"
