#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, CMake option PIGTAIL_FUZZ) with clang
# in their own build directory and runs each for SECONDS (default 60) over a
# copy of its seed corpus fuzz/corpus/NAME/; the repository's corpus is never
# written to. Fails when a target crashes, leaks, times out or a FUZZ_CHECK
# fails, and prints where the input that did it was saved. Reproduce with
#   build-fuzz/fuzz/NAME_fuzz SAVED_INPUT
#
#   scripts/fuzz.sh [SECONDS]
#   PIGTAIL_FUZZ_BUILD_DIR   build directory (default: build-fuzz)
#   PIGTAIL_FUZZ_TARGETS     only these targets (space-separated names)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: scripts/fuzz.sh [SECONDS]" >&2
  exit 2
}
build_dir="${PIGTAIL_FUZZ_BUILD_DIR:-build-fuzz}"

echo "fuzz.sh: building the fuzz targets in $build_dir"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DPIGTAIL_FUZZ=ON -DPIGTAIL_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build_dir" --target fuzz -j"$(nproc)"

mapfile -t targets < <(grep -v '^$' "$build_dir/fuzz/targets.txt")
if [[ -n "${PIGTAIL_FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$PIGTAIL_FUZZ_TARGETS"
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/pigtail-fuzz.XXXXXX")"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for name in "${targets[@]}"; do
  seeds="fuzz/corpus/$name"
  binary="$build_dir/fuzz/${name}_fuzz"
  if [[ ! -d "$seeds" || ! -x "$binary" ]]; then
    echo "fuzz.sh: $name: missing $seeds or $binary" >&2
    failed+=("$name")
    continue
  fi
  dir="$work/$name"
  mkdir -p "$dir/corpus" "$dir/crash"
  cp -R "$seeds/." "$dir/corpus/"
  echo "fuzz.sh: $name for ${seconds}s"
  # The first corpus directory is where libFuzzer adds new inputs: the copy.
  if "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/crash/" "$dir/corpus" >"$dir/log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$dir/log" | tr '\n' ' ' || true
    echo
  else
    failed+=("$name")
    tail -n 40 "$dir/log" >&2
    echo "fuzz.sh: $name FAILED; full log: $dir/log" >&2
    for input in "$dir"/crash/*; do
      [[ -e "$input" ]] && echo "fuzz.sh: $name: input saved at $input (run: $binary $input)" >&2
    done
  fi
done

if ((${#failed[@]})); then
  echo "fuzz.sh: failed: ${failed[*]} (work files kept in $work)" >&2
  exit 1
fi
rm -rf -- "$work"
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds}s without a failure"
