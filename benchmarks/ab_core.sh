#!/usr/bin/env bash
# Two builds of core_benchmark side by side: short runs interleaved
# A B B A ..., so that the machine's drift falls on both alike, then the
# median items/s of each side per benchmark and their ratio.
#
#   bash benchmarks/ab_core.sh BEFORE_BIN AFTER_BIN [ROUNDS] [FILTER] [MIN_TIME_S]
#
# e.g. build an older commit in a second directory and compare its
# benchmarks/core_benchmark with build/benchmarks/core_benchmark.
set -euo pipefail
if (($# < 2)); then
  echo "usage: $0 BEFORE_BIN AFTER_BIN [ROUNDS=20] [FILTER=Parse] [MIN_TIME_S=0.3]" >&2
  exit 2
fi
before=$1 after=$2 rounds=${3:-20} filter=${4:-Parse} min_time=${5:-0.3}
for bin in "$before" "$after"; do
  [[ -x $bin ]] || { echo "$0: $bin is not an executable" >&2; exit 2; }
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() {
  "$2" --benchmark_filter="$filter" --benchmark_min_time="$min_time" --benchmark_format=csv \
    2>/dev/null | grep '^"BM' | sed "s/^/$1,/" >>"$out"
}
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "load $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds, filter $filter"
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then run before "$before"; run after "$after"; else run after "$after"; run before "$before"; fi
done
python3 - "$out" <<'PY'
import collections, csv, statistics, sys
rates = collections.defaultdict(lambda: collections.defaultdict(list))
for row in csv.reader(open(sys.argv[1])):
    if row[7]:
        rates[row[1]][row[0]].append(float(row[7]))
for name, side in rates.items():
    if side["before"] and side["after"]:
        b, a = statistics.median(side["before"]), statistics.median(side["after"])
        wins = sum(x > y for x, y in zip(side["after"], side["before"]))
        print(f"{name:28s} before {b/1e6:7.3f} M/s  after {a/1e6:7.3f} M/s  "
              f"ratio {a/b:5.3f}  after ahead in {wins}/{len(side['after'])} pairs")
PY
