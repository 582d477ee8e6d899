#!/usr/bin/env bash
# Builds the pigtail .deb with CPack from an existing build directory,
# checks its contents, unpacks it into a temporary root and runs the
# packaged pigtaild from there: --version, then a short run on 127.0.0.1
# (create, add, claim, done) with the packaged config file pointed at a
# temporary data folder. The server is stopped by its PID; every wait is
# bounded. Usage: scripts/package_test.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir="$(cd "${1:-build}" && pwd)"

work="$(mktemp -d /tmp/pigtail-package.XXXXXX)"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "package_test: FAILED: $*" >&2
  exit 1
}

echo "package_test: building the package"
(cd "$work" && cpack --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log" >&2; fail "cpack"; }
deb="$(ls "$work"/out/pigtail_*.deb 2>/dev/null | head -n1)"
[[ -n "$deb" ]] || fail "cpack made no pigtail_*.deb"
echo "package_test: $(basename "$deb") ($(du -k "$deb" | cut -f1) kB)"

info="$(dpkg-deb --info "$deb")"
grep -q "Package: pigtail" <<<"$info" || fail "no Package: pigtail in the control file"
grep -q "Depends:.*libboost-json" <<<"$info" || fail "the package lists no shared-library dependencies"
[[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" == "/etc/pigtail/pigtaild.conf" ]] ||
  fail "the config file is not a conffile"
# Listed first: `grep -q` stops reading at the match, and under pipefail
# tar's SIGPIPE would fail the pipeline.
control_files="$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)"
grep -q "postinst" <<<"$control_files" || fail "no postinst"

root="$work/root"
dpkg-deb -x "$deb" "$root"
for f in usr/bin/pigtaild usr/bin/pigtail-replay usr/bin/pigtail-load usr/bin/pigtail \
  usr/lib/systemd/system/pigtaild.service etc/pigtail/pigtaild.conf \
  usr/share/doc/pigtail/README.md; do
  [[ -e "$root/$f" ]] || fail "the package lacks /$f"
done
unit="$root/usr/lib/systemd/system/pigtaild.service"
grep -q '^ExecStart=/usr/bin/pigtaild$' "$unit" || fail "the unit does not start /usr/bin/pigtaild"
# systemd's own check of the unit, with the binary at its unpacked path.
sed "s|/usr/bin/pigtaild|$root/usr/bin/pigtaild|" "$unit" >"$work/pigtaild.service"
systemd-analyze verify "$work/pigtaild.service" || fail "systemd-analyze verify rejects the unit"

for tool in pigtaild pigtail-replay pigtail-load pigtail; do
  version="$("$root/usr/bin/$tool" --version)"
  [[ "$version" =~ ^$tool\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ [0-9a-f]+|unknown\)$ ]] ||
    fail "$tool --version printed \"$version\""
  echo "package_test: $version"
done

# The packaged config, with the data folder and port moved into the sandbox.
sed -e "s|^backend=.*|backend=rocksdb:$work/data|" -e "s|^listen=.*|listen=127.0.0.1:0|" \
  "$root/etc/pigtail/pigtaild.conf" >"$work/pigtaild.conf"
PIGTAIL_CONFIG="$work/pigtaild.conf" "$root/usr/bin/pigtaild" >"$work/pigtaild.out" 2>&1 &
pid=$!
port=""
for _ in $(seq 1 300); do # up to 30 s
  port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/pigtaild.out")"
  [[ -n "$port" ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/pigtaild.out" >&2; fail "the packaged pigtaild did not start"; }
url="http://127.0.0.1:$port"

call() { curl -sS --max-time 10 -o "$work/body" -w '%{http_code}' -X "$1" "$url$2" -d "${3:-}"; }
[[ "$(call POST /create '{"name":"jobs","timeout_ms":30000}')" == 201 ]] || fail "create"
[[ "$(call POST /queue/jobs '{"task_name":"hello","info":{"n":1}}')" == 201 ]] || fail "add"
id="$(sed -n 's|.*"id":"\([0-9a-f-]*\)".*|\1|p' "$work/body")"
worker=6c1f3f0e-8d52-4b8e-9d4e-2a4f0b1c9e77
[[ "$(call PUT "/queue/jobs/$id" "{\"worker_id\":\"$worker\"}")" == 200 ]] || fail "claim"
[[ "$(call DELETE "/queue/jobs/$id" "{\"worker_id\":\"$worker\"}")" == 200 ]] || fail "done"
[[ "$(call GET "/queue/jobs/$id")" == 200 ]] && grep -q '"state":"done"' "$work/body" ||
  fail "the task is not done: $(cat "$work/body")"

kill -TERM "$pid"
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
wait "$pid" || fail "pigtaild exited with $? on SIGTERM"
pid=""
[[ -d "$work/data" ]] || fail "no data folder was written"
echo "package_test: ok"
