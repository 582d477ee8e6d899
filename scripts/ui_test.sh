#!/usr/bin/env bash
# The dashboard (GET /ui) in headless Chromium: starts three real pigtaild
# nodes on 127.0.0.1 (free ports, temporary RocksDB directories) — A with
# data, B a replication peer of A, C with a client token — and runs
# tests/ui/ui_test.js against them. Screenshots go to the artifacts
# directory. Installs what it needs (Debian chromium, Node.js if missing,
# the pinned playwright-core in tests/ui/node_modules).
#
#   bash scripts/ui_test.sh [PIGTAILD [ARTIFACTS_DIR]]
#   (defaults: build/bin/pigtaild, build/ui-artifacts)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pigtaild="${1:-build/bin/pigtaild}"
artifacts="${2:-build/ui-artifacts}"
[[ -x "$pigtaild" ]] || { echo "ui_test.sh: no pigtaild at $pigtaild (build it first)" >&2; exit 2; }

# What the test needs; bootstrap.sh lists the same packages.
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
{ command -v node && command -v npm; } >/dev/null || need+=(nodejs npm)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
pinned="$(node -p 'require("./tests/ui/package.json").dependencies["playwright-core"]')"
installed="$(node -p 'try { require("./tests/ui/node_modules/playwright-core/package.json").version } catch (e) { "" }')"
if [[ "$installed" != "$pinned" ]]; then
  (cd tests/ui && npm install --no-save --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d /tmp/pigtail-ui-test.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME ARGS...: starts pigtaild on a free port; sets url_NAME.
start() {
  local name="$1"
  shift
  "$pigtaild" --listen 127.0.0.1:0 --backend "rocksdb:$work/$name" "$@" \
    >"$work/$name.log" 2>&1 &
  pids+=("$!")
  local url=""
  for _ in $(seq 100); do  # at most 10 s
    url="$(grep -o 'listening on http://[0-9.:]*' "$work/$name.log" | sed 's/listening on //')" || true
    [[ -n "$url" ]] && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$url" ]]; then
    echo "ui_test.sh: pigtaild $name did not start:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
  printf -v "url_$name" '%s' "$url"
}

start a --anti-entropy-ms 500
start b --anti-entropy-ms 500
token="ui-test-token-$RANDOM$RANDOM"
start c --client-token "$token"
echo "ui_test.sh: A $url_a, B $url_b, C $url_c (client token)"

mkdir -p "$artifacts"
status=0
timeout 300 node tests/ui/ui_test.js --a "$url_a" --b "$url_b" --c "$url_c" --token "$token" \
  --artifacts "$artifacts" --profile "$work/chromium-profile" || status=$?
if ((status != 0)); then
  for n in a b c; do
    echo "--- pigtaild $n log (last lines)" >&2
    tail -n 20 "$work/$n.log" >&2
  done
fi
exit "$status"
