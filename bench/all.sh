#!/usr/bin/env bash
# The whole benchmark suite in one command: builds everything, runs every scenario for
# sansweb and its peers alternately (A B C A B C ...), prints markdown tables of medians
# and ratios, and writes them to bench/results.md.
#
#   bench/all.sh [rounds=3] [duration=5s] [connections_for_memory=10000]
#
# Server scenarios (wrk -t1 -c50, server pinned to CPU 0 with 1 worker, wrk to CPU 1;
# server CPU time from /proc/PID/stat): hello keep-alive, hello pipelined 16 deep,
# 1 KiB JSON echo POST, 1 MiB upload (-c10), 16 MiB download sized and chunked (-c4).
# Peers: hyper 1.x (pipeline_flush(true)), Python aiohttp, and the no-parse ceiling
# (canned answers; for the bulk scenarios it moves the same bytes and nothing else, so it
# shows what the kernel's copies allow). Then: RSS per idle keep-alive connection with N
# connections open (server and client) and after they close; scaling with 1 and 2
# workers; the client benchmark (client.sh) and the WebSocket benchmark (ws.sh).
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-3} duration=${2:-5s} conns=${3:-10000}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
python3 -c 'import aiohttp' 2>/dev/null || python3 -m pip install -q aiohttp
cargo build --release -q
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
out=results.md
tck=$(getconf CLK_TCK)
bin=target/release
declare -A start=(
  [sansweb]="$bin/sansweb_server 127.0.0.1:18301"
  [hyper]="$bin/hyper_server 127.0.0.1:18302"
  [aiohttp]="python3 aiohttp_server.py 127.0.0.1:18303"
  [ceiling]="$bin/ceiling 127.0.0.1:18304"
)
declare -A port=([sansweb]=18301 [hyper]=18302 [aiohttp]=18303 [ceiling]=18304)
# scenario -> "wrk args|path|servers"
declare -A scen=(
  [hello]="-c50|/|sansweb hyper aiohttp ceiling"
  [pipelined]="-c50 -s pipeline.lua|/|sansweb hyper aiohttp ceiling"
  [echo_1k]="-c50 -s echo.lua|/echo|sansweb hyper aiohttp"
  [upload_1m]="-c10 -s upload.lua|/upload|sansweb hyper aiohttp ceiling"
  [download_sized]="-c4|/download/sized|sansweb hyper aiohttp ceiling"
  [download_chunked]="-c4|/download/chunked|sansweb hyper aiohttp ceiling"
)
order=(hello pipelined echo_1k upload_1m download_sized download_chunked)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

run_server() { # name wrkargs path -> "cpu_us_per_req req_per_s"
  local name=$1 args=$2 path=$3
  taskset -c 0 ${start[$name]} >/dev/null 2>&1 & local pid=$!
  wait_up "${port[$name]}"
  local before; before=$(cpu_ticks "$pid")
  local res; res=$(taskset -c 1 wrk -t1 $args -d"$duration" "http://127.0.0.1:${port[$name]}$path" 2>&1)
  local after; after=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local requests rps
  requests=$(awk '/requests in/ {print $1}' <<<"$res"); rps=$(awk '/Requests\/sec/ {print $2}' <<<"$res")
  awk -v t=$((after - before)) -v hz="$tck" -v r="${requests:-0}" -v rps="${rps:-0}" \
    'BEGIN { if (r > 0) printf "%.2f %.0f\n", t / hz * 1e6 / r, rps; else print "n/a 0" }'
}

{
echo "# sansweb benchmarks"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Command: \`bench/all.sh $rounds $duration $conns\`. Medians of $rounds rounds, run alternately."
echo
echo "## Server (1 worker on CPU 0, wrk -t1 on CPU 1, $duration per run)"
echo
echo "| scenario | server | CPU µs/request | requests/s | CPU vs hyper | req/s vs aiohttp |"
echo "|---|---|---|---|---|---|"
} | tee "$out"
for sc in "${order[@]}"; do
  IFS='|' read -r args path servers <<<"${scen[$sc]}"
  declare -A cpu=() rps=()
  for r in $(seq "$rounds"); do
    for s in $servers; do
      read -r c q < <(run_server "$s" "$args" "$path")
      cpu[$s]+="$c "; rps[$s]+="$q "
      echo "round $r $sc $s: $c µs CPU/request, $q req/s" >&2
    done
  done
  declare -A mc=() mr=()
  for s in $servers; do
    mc[$s]=$(tr ' ' '\n' <<<"${cpu[$s]}" | grep -v '^n/a$' | grep . | median)
    mr[$s]=$(tr ' ' '\n' <<<"${rps[$s]}" | grep . | median)
  done
  for s in $servers; do
    awk -v sc="$sc" -v s="$s" -v c="${mc[$s]}" -v q="${mr[$s]}" -v h="${mc[hyper]}" -v a="${mr[aiohttp]}" \
      'BEGIN { printf "| %s | %s | %s | %s | %.2fx | %.1fx |\n", sc, s, c, q, (h > 0 ? c / h : 0), (a > 0 ? q / a : 0) }'
  done | tee -a "$out"
  unset cpu rps mc mr
done

{
echo
echo "## Memory: $conns idle keep-alive connections (one exchange each)"
echo
echo "| side | implementation | RSS before (KB) | RSS with connections (KB) | KB per connection | RSS after close (KB) |"
echo "|---|---|---|---|---|---|"
} | tee -a "$out"
for s in sansweb hyper aiohttp; do
  ${start[$s]} >/dev/null 2>&1 & pid=$!
  wait_up "${port[$s]}"
  line=$(python3 idle_memory.py "$pid" "127.0.0.1:${port[$s]}" "$conns" --table)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "| server | $s | $line |" | tee -a "$out"
done
"$bin/hyper_server" 127.0.0.1:18305 >/dev/null 2>&1 & target=$!
wait_up 18305
for c in sansweb hyper; do
  line=$("$bin/client_memory" "$c" "http://127.0.0.1:18305/" "$conns")
  echo "| client | $c | $line |" | tee -a "$out"
done
kill "$target"; wait "$target" 2>/dev/null || true

{
echo
echo "## Scaling: hello keep-alive, wrk -t2 -c100 (unpinned; wrk shares the 2 CPUs; runs alternate)"
echo
echo "| server | 1 worker req/s | 2 workers req/s | 2 vs 1 |"
echo "|---|---|---|---|"
} | tee -a "$out"
declare -A w=()
for r in $(seq "$rounds"); do
  for workers in 1 2; do
    for s in sansweb hyper; do
      ${start[$s]} "$workers" >/dev/null 2>&1 & pid=$!
      wait_up "${port[$s]}"
      q=$(wrk -t2 -c100 -d"$duration" "http://127.0.0.1:${port[$s]}/" 2>&1 | awk '/Requests\/sec/ {print $2}')
      kill "$pid"; wait "$pid" 2>/dev/null || true
      w[$s.$workers]+="$q "
    done
  done
done
for s in sansweb hyper; do
  a=$(tr ' ' '\n' <<<"${w[$s.1]}" | grep . | median); b=$(tr ' ' '\n' <<<"${w[$s.2]}" | grep . | median)
  awk -v s="$s" -v a="$a" -v b="$b" 'BEGIN { printf "| %s | %.0f | %.0f | %.2fx |\n", s, a, b, b / a }' | tee -a "$out"
done
unset w

echo | tee -a "$out"
echo "## Client" | tee -a "$out"
bash client.sh "$rounds" 2>/dev/null | tee -a "$out"
echo | tee -a "$out"
echo "## WebSocket" | tee -a "$out"
bash ws.sh "$rounds" 2>/dev/null | tee -a "$out"
echo
echo "Written to bench/$out"
