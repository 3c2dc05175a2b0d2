#!/usr/bin/env bash
# Server benchmark, side by side in one run: sansweb `hello` vs hyper vs the ceiling.
# For each round and each server (alternating A B C A B C ...): start it pinned to CPU 0,
# run wrk pinned to CPU 1, read the server's CPU time from /proc/PID/stat before and
# after, report CPU µs per request and requests/s; then print medians and ratios.
#
#   bench/run.sh [rounds=5] [duration=10s] [mode=keepalive|pipeline|both]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} duration=${2:-10s} mode=${3:-both}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q --example hello
cargo build --release -q --manifest-path bench/Cargo.toml
tck=$(getconf CLK_TCK)
declare -A cmd=(
  [sansweb]="target/release/examples/hello --bind 127.0.0.1:18090 --runtime tokio"
  [hyper]="bench/target/release/hyper_hello 127.0.0.1:18091"
  [ceiling]="bench/target/release/ceiling 127.0.0.1:18092"
)
declare -A port=([sansweb]=18090 [hyper]=18091 [ceiling]=18092)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_one() { # name mode -> "cpu_us_per_req req_per_s"
  local name=$1 m=$2 script=()
  [[ $m == pipeline ]] && script=(-s bench/pipeline.lua)
  taskset -c 0 ${cmd[$name]} >/dev/null 2>&1 & local pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:${port[$name]}/" && break; sleep 0.1; done
  local before; before=$(cpu_ticks "$pid")
  local out; out=$(taskset -c 1 wrk -t1 -c50 -d"$duration" "${script[@]}" "http://127.0.0.1:${port[$name]}/" 2>&1)
  local after; after=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local requests; requests=$(awk '/requests in/ {print $1}' <<<"$out")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  awk -v t=$((after - before)) -v hz="$tck" -v r="$requests" -v rps="$rps" \
    'BEGIN { printf "%.3f %.0f\n", t / hz * 1e6 / r, rps }'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

modes=(keepalive pipeline); [[ $mode != both ]] && modes=("$mode")
for m in "${modes[@]}"; do
  declare -A cpu=() rps=()
  for r in $(seq "$rounds"); do
    for name in sansweb hyper ceiling; do
      read -r c q < <(run_one "$name" "$m")
      cpu[$name]+="$c "; rps[$name]+="$q "
      echo "round $r $m $name: ${c} µs CPU/req, ${q} req/s" >&2
    done
  done
  echo
  echo "### $m (wrk -t1 -c50 -d$duration, server on CPU 0, wrk on CPU 1, median of $rounds)"
  echo "| server | CPU µs/request | req/s |"
  echo "|---|---|---|"
  for name in sansweb hyper ceiling; do
    mc=$(tr ' ' '\n' <<<"${cpu[$name]}" | grep . | median)
    mr=$(tr ' ' '\n' <<<"${rps[$name]}" | grep . | median)
    echo "| $name | $mc | $mr |"
    declare "med_$name=$mc"
  done
  awk -v s="$med_sansweb" -v h="$med_hyper" -v c="$med_ceiling" \
    'BEGIN { printf "\nsansweb/hyper CPU per request: %.2fx; sansweb/ceiling: %.2fx\n", s/h, s/c }'
  unset cpu rps
done
