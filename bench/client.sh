#!/usr/bin/env bash
# Client benchmark, side by side: sansweb ClientSession vs hyper-util's legacy Client
# (hyper 1) vs Python aiohttp ClientSession, all against one fast server
# (src/bin/client_target.rs: the ceiling's canned answers plus a 16 MiB /16m).
# One thread each; PIN=1 pins the server to CPU 0 and each client to CPU 1 (on a
# shared, loaded machine pinning makes every run wait for its CPU, so it is off by
# default). For each round and
# scenario the clients run one after another (A B C A B C ...); each prints its own
# rate and CPU per unit; the script prints medians and ratios as markdown tables.
#
#   bench/client.sh [rounds=3] [scale=1]
#   BASELINE=/path/to/an/older/client_sansweb bench/client.sh  adds it as client
#   "baseline", run in turn with the others (before/after figures from one run)
#   scenarios: seq (sequential keep-alive GETs), conc (50 concurrent keep-alive GETs),
#   download (16 MiB bodies, MiB/s); seq also runs client_raw, a blocking socket with
#   no HTTP parsing and no runtime: the round-trip floor no client can beat
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} scale=${2:-1}
python3 -c 'import aiohttp' 2>/dev/null || python3 -m pip install -q aiohttp
cargo build --release -q --manifest-path bench/Cargo.toml \
  --bin client_target --bin client_sansweb --bin client_hyper --bin client_raw
bin=bench/target/release
port=18095 base=http://127.0.0.1:18095
pin0=() pin1=()
[[ ${PIN:-0} == 1 ]] && pin0=(taskset -c 0) pin1=(taskset -c 1)
"${pin0[@]}" "$bin/client_target" 127.0.0.1:$port >/dev/null 2>&1 & server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "$base/" && break; sleep 0.1; done

# requests (or downloads) per run; aiohttp gets fewer (its rate is per unit anyway)
declare -A n=([seq]=$((20000 * scale)) [conc]=$((50000 * scale)) [download]=$((100 * scale)))
declare -A cmd=(
  [sansweb]="$bin/client_sansweb"
  [hyper]="$bin/client_hyper"
  [aiohttp]="python3 bench/client_aiohttp.py"
  [raw]="$bin/client_raw"
)
clients=(sansweb hyper aiohttp)
if [[ -n ${BASELINE:-} ]]; then
  cmd[baseline]="$BASELINE"
  clients=(sansweb baseline hyper aiohttp)
fi
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for sc in seq conc download; do
  declare -A rate=() cpu=()
  # seq also runs the floor: a blocking socket with no HTTP and no runtime (client_raw.rs)
  run=("${clients[@]}")
  [[ $sc == seq ]] && run+=(raw)
  for r in $(seq "$rounds"); do
    for c in "${run[@]}"; do
      count=${n[$sc]}
      [[ $c == aiohttp && $sc != download ]] && count=$((count / 10))
      read -r q u < <("${pin1[@]}" ${cmd[$c]} "$sc" "$base" "$count" 50)
      rate[$c]+="$q " cpu[$c]+="$u "
      echo "round $r $sc $c: $q/s, $u µs CPU/unit" >&2
    done
  done
  unit="req/s"; [[ $sc == download ]] && unit="MiB/s"
  echo
  echo "### $sc (median of $rounds; PIN=${PIN:-0})"
  echo "| client | $unit | client CPU µs/${unit%/s} | $unit vs hyper | $unit vs aiohttp |"
  echo "|---|---|---|---|---|"
  declare -A med=()
  for c in "${run[@]}"; do
    med[$c]=$(tr ' ' '\n' <<<"${rate[$c]}" | grep . | median)
    medc=$(tr ' ' '\n' <<<"${cpu[$c]}" | grep . | median)
    declare "cpu_$c=$medc"
  done
  for c in "${run[@]}"; do
    cc="cpu_$c"
    awk -v c="$c" -v q="${med[$c]}" -v u="${!cc}" -v h="${med[hyper]}" -v a="${med[aiohttp]}" \
      'BEGIN { printf "| %s | %.0f | %.2f | %.2f× | %.1f× |\n", c, q, u, q / h, q / a }'
  done
  unset rate cpu med
done
