#!/usr/bin/env bash
# Installs every Debian package that building, running and testing Pigtail
# needs. Idempotent: a second run installs nothing new.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  clang-format
  clang libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  librocksdb-dev
  libpqxx-dev libpq-dev postgresql
  libgtest-dev libgmock-dev libbenchmark-dev
  librapidcheck-dev
  libxxhash-dev
  libabsl-dev
  libjemalloc-dev
  libspdlog-dev
  iproute2 procps
  python3
  systemd
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

# Node.js and npm for the dashboard's browser test (tests/ui), unless they
# are already there (a Node.js from elsewhere brings its own npm).
{ command -v node && command -v npm; } >/dev/null || missing+=(nodejs npm)

if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
