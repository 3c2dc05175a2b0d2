#!/usr/bin/env bash
# WebSocket echo benchmark, side by side: sansweb vs tokio-tungstenite vs fastwebsockets.
#
#   bench/ws.sh [rounds=5]
#
# Scenarios: 64 B x 100k messages, 1 MiB x 100 messages (binary). The client sends every
# message from one task while another reads the echoes; it reports the time from the first
# send to the last echo (messages/s, and MB/s of payload echoed).
#  - servers: the tungstenite client drives each server in turn;
#  - clients: each client drives the fastwebsockets server, then the sansweb server (the
#    fastest server here). fastwebsockets runs at 100% CPU with every client, so its
#    small-message cell measures that server's work per message as much as the client;
#  - compressed: permessage-deflate exists only in sansweb (tokio-tungstenite 0.28 and
#    fastwebsockets 0.10 have none), so it is sansweb client -> sansweb server, absolute.
# Runs alternate A B C A B C ...; the server is pinned to CPU 0, the client to CPU 1;
# medians of the rounds, ratios against sansweb.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-5}
cargo build --release -q --bin ws_bench
bin=target/release/ws_bench
declare -A port=([sansweb]=19201 [tungstenite]=19202 [fastws]=19203)
impls=(sansweb tungstenite fastws)
scenarios=("64 100000" "1048576 100")

run_one() { # server client size count [--compress] -> seconds
  local srv=$1 cli=$2 size=$3 count=$4 flag=${5:-}
  taskset -c 0 "$bin" server "$srv" "127.0.0.1:${port[$srv]}" $flag >/dev/null 2>&1 & local pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/${port[$srv]}") 2>/dev/null && break; sleep 0.1; done
  local secs; secs=$(taskset -c 1 "$bin" client "$cli" "ws://127.0.0.1:${port[$srv]}/" "$size" "$count" $flag)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$secs"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A res=()
for r in $(seq "$rounds"); do
  for sc in "${scenarios[@]}"; do
    read -r size count <<<"$sc"
    for imp in "${impls[@]}"; do
      res["srv $imp $size"]+="$(run_one "$imp" tungstenite "$size" "$count") "
      res["cli $imp $size"]+="$(run_one fastws "$imp" "$size" "$count") "
      res["cli3 $imp $size"]+="$(run_one tungstenite "$imp" "$size" "$count") "
      res["cli2 $imp $size"]+="$(run_one sansweb "$imp" "$size" "$count") "
    done
    res["zip sansweb $size"]+="$(run_one sansweb sansweb "$size" "$count" --compress) "
    echo "round $r, $size B x $count done" >&2
  done
done

table() { # title kind impls...
  local title=$1 kind=$2; shift 2
  echo
  echo "### $title (median of $rounds rounds)"
  echo "| implementation | 64 B x 100k: msg/s | MB/s | ratio sansweb/it | 1 MiB x 100: msg/s | MB/s | ratio sansweb/it |"
  echo "|---|---|---|---|---|---|---|"
  for imp in "$@"; do
    local row="| $imp"
    for sc in "${scenarios[@]}"; do
      read -r size count <<<"$sc"
      local m s
      m=$(tr ' ' '\n' <<<"${res["$kind $imp $size"]}" | grep . | median)
      s=$(tr ' ' '\n' <<<"${res["$kind sansweb $size"]}" | grep . | median)
      row+=$(awk -v m="$m" -v s="$s" -v n="$count" -v b="$size" \
        'BEGIN { printf " | %.0f | %.1f | %.2fx", n / m, n * b / m / 1e6, m / s }')
    done
    echo "$row |"
  done
}
table "Servers, driven by the tokio-tungstenite client" srv "${impls[@]}"
table "Clients, against the fastwebsockets server" cli "${impls[@]}"
table "Clients, against the tokio-tungstenite server" cli3 "${impls[@]}"
table "Clients, against the sansweb server" cli2 "${impls[@]}"
table "Compressed (permessage-deflate), sansweb client -> sansweb server" zip sansweb
