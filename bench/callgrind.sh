#!/usr/bin/env bash
# Server instructions per request, which load and noise cannot move: run a server under
# `valgrind --tool=callgrind`, load it with wrk for two durations, and divide the
# difference in instruction totals by the difference in requests (start-up drops out).
#
#   bench/callgrind.sh [sansweb|hyper|ceiling|both=both] [keepalive|pipeline|both=both] [short=4s] [long=8s]
#
# Binaries come from a release build of examples/hello and bench/'s hyper_hello; the
# callgrind profiles are kept in $OUT (default /tmp/sansweb-callgrind) for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both} modes=${2:-both} short=${3:-4s} long=${4:-8s}
out=${OUT:-/tmp/sansweb-callgrind}; mkdir -p "$out"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q --example hello
[[ $which == sansweb ]] || cargo build --release -q --manifest-path bench/Cargo.toml --bin hyper_hello --bin ceiling
port=${PORT:-28290}

run() { # server mode duration -> "requests instructions"
  local server=$1 mode=$2 dur=$3 script=() file="$out/$1-$2-$3.out" cmd
  [[ $mode == pipeline ]] && script=(-s bench/pipeline.lua)
  case $server in
    sansweb) cmd=(target/release/examples/hello --bind "127.0.0.1:$port" --runtime tokio) ;;
    hyper) cmd=(bench/target/release/hyper_hello "127.0.0.1:$port") ;;
    ceiling) cmd=(bench/target/release/ceiling "127.0.0.1:$port") ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$file" "${cmd[@]}" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  local n; n=$(wrk -t1 -c10 -d"$dur" "${script[@]}" "http://127.0.0.1:$port/" | awk '/requests in/{print $1}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local total; total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
  echo "$n $total"
}

servers=(sansweb hyper); [[ $which == both ]] || servers=("$which")
ms=(keepalive pipeline); [[ $modes == both ]] || ms=("$modes")
printf '| server | mode | requests %s / %s | instructions per request |\n|---|---|---|---|\n' "$short" "$long"
for m in "${ms[@]}"; do
  for s in "${servers[@]}"; do
    read -r n1 t1 < <(run "$s" "$m" "$short")
    read -r n2 t2 < <(run "$s" "$m" "$long")
    printf '| %s | %s | %s / %s | %s |\n' "$s" "$m" "$n1" "$n2" $(( (t2 - t1) / (n2 - n1) ))
  done
done
echo "profiles: $out/<server>-<mode>-<duration>.out (callgrind_annotate --inclusive=yes)"
