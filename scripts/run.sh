#!/usr/bin/env bash
# Installs what is needed, builds Pigtail and runs the server, pigtaild, on
# the embedded RocksDB default (data in ./data). Idempotent. Arguments are
# passed to pigtaild (see `pigtaild --help`), e.g.
#   bash scripts/run.sh --listen 127.0.0.1:9000 --backend rocksdb:/var/lib/pigtail
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh

build_dir="${PIGTAIL_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target pigtaild

exec "$build_dir/bin/pigtaild" "$@"
