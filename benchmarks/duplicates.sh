#!/bin/bash
# How many tasks a healthy cluster hands to more than one worker (issue:
# claims decided by a task's home node).
#
#   bash benchmarks/duplicates.sh [--bin DIR] [--nodes 3] [--tasks 2000]
#        [--providers 8] [--workers 2] [--rounds 1] [--args "EXTRA FLAGS"]
#
# Starts NODES pigtaild on 127.0.0.1 (RocksDB in a temporary directory),
# peers every node with every other, and runs
# `pigtail-load --phases duplicates` ROUNDS times with adds to the first
# node and ROUNDS times with adds spread over the nodes: WORKERS
# long-polling workers per node claim one task at a time and finish it on
# their node. Prints the host, the commit and pigtail-load's line per run
# (tasks claimed more than once, add -> claimed p50/p99, lifecycles/s).
# Every node is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bin
nodes=3
tasks=2000
providers=8
workers=2
rounds=1
extra=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --nodes) nodes=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --providers) providers=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --args) extra=$2; shift 2 ;;
    *) echo "duplicates.sh: unknown argument $1 (see the header of this file)" >&2; exit 2 ;;
  esac
done
for tool in pigtaild pigtail-load; do
  [ -x "$bin/$tool" ] || { echo "duplicates.sh: no $bin/$tool; build first" >&2; exit 2; }
done
[ "$nodes" -ge 2 ] || { echo "duplicates.sh: --nodes must be at least 2" >&2; exit 2; }

work=$(mktemp -d /tmp/pigtail-duplicates.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
urls=()
for i in $(seq 1 "$nodes"); do
  port=$(free_port)
  # shellcheck disable=SC2086
  "$bin/pigtaild" --listen "127.0.0.1:$port" --backend "rocksdb:$work/n$i" $extra \
    >>"$work/n$i.log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$port")
done
for i in "${!urls[@]}"; do
  for _ in $(seq 1 300); do  # at most 30 s
    curl -sf "${urls[$i]}/ready" >/dev/null 2>&1 && break
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "node $((i + 1)) exited:" >&2; tail "$work/n$((i + 1)).log" >&2; exit 1; }
    sleep 0.1
  done
  curl -sf "${urls[$i]}/ready" >/dev/null || { echo "node $((i + 1)) not ready after 30 s" >&2; exit 1; }
done
for a in "${urls[@]}"; do
  for b in "${urls[@]}"; do
    [ "$a" = "$b" ] || curl -sf -XPOST "$a/nodes" -d "{\"url\":\"$b\"}" >/dev/null
  done
done

echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown), binaries: $bin, $nodes nodes on 127.0.0.1, flags: ${extra:-none}"
peers=$(IFS=,; echo "${urls[*]:1}")
for _ in $(seq 1 "$rounds"); do
  for where in first spread; do
    "$bin/pigtail-load" --url "${urls[0]}" --peers "$peers" --add-to "$where" --phases duplicates \
      --tasks "$tasks" --providers "$providers" --workers "$workers" | grep '^duplicates:'
  done
done
