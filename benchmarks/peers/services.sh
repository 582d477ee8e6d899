#!/usr/bin/env bash
# Starts and stops one system under test for benchmarks/peers/run.sh.
#
#   services.sh start KIND DIR   start KIND with its data in DIR (which must
#                                not exist yet); print the URL its client
#                                connects to on stdout
#   services.sh stop KIND DIR    stop what `start` started there, by the PIDs
#                                it recorded in DIR/*.pid, and remove DIR
#
# KIND is one of rabbitmq, postgres, redis, pigtail-rocksdb,
# pigtail-postgres. Everything listens on 127.0.0.1 only (PostgreSQL on a
# unix socket in DIR only, see scripts/pg_cluster.sh), on a free port, with
# every acknowledged write synced. Progress and errors go to stderr; on a
# failed start the last line of stderr says why.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
PIGTAIL_BIN="${PIGTAIL_BIN:-$ROOT/build/bin}"
readonly START_SECONDS=90
readonly STOP_SECONDS=30

die() {
  echo "$*" >&2
  exit 1
}

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
  node -e 'const s = require("net").createServer();
           s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Waits until 127.0.0.1:$1 accepts connections while PID $2 lives (bounded).
wait_port() {
  local port="$1" pid="$2" what="$3" i
  for ((i = 0; i < START_SECONDS * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || die "$what exited while starting"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "$what did not listen on 127.0.0.1:$port within ${START_SECONDS}s"
}

# Sends TERM to PID $1, waits for it to exit (bounded), then KILL.
stop_pid() {
  local pid="$1" i
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_SECONDS * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "services.sh: PID $pid still running after ${STOP_SECONDS}s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

start_postgres() {
  local dir="$1"
  bash "$ROOT/scripts/pg_cluster.sh" start "$dir/pg" 2>"$dir/pg_cluster.log" ||
    die "PostgreSQL: $(tail -n 1 "$dir/pg_cluster.log")"

}

start_redis() {
  local dir="$1" port
  command -v redis-server >/dev/null || die "redis-server is not installed"
  port="$(free_port)"
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes --dir "$dir" \
    --appendonly yes --appendfsync always --save '' --daemonize no \
    --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/redis.pid"
  wait_port "$port" "$!" "redis-server (see $dir/redis.log)"
  echo "redis://127.0.0.1:$port"
}

# RabbitMQ with its own epmd (started here, stopped by PID), node name,
# Mnesia/log directories, config and cookie, on loopback ports only.
start_rabbitmq() {
  local dir="$1" server=/usr/lib/rabbitmq/bin/rabbitmq-server amqp dist epmd_port
  [[ -x "$server" ]] || die "rabbitmq-server is not installed"
  command -v epmd >/dev/null || die "epmd is not installed"
  amqp="$(free_port)"
  dist="$(free_port)"
  epmd_port="$(free_port)"
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/home/.erlang.cookie"
  chmod 400 "$dir/home/.erlang.cookie"
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$amqp
distribution.listener.interface = 127.0.0.1
distribution.listener.port_range.min = $dist
distribution.listener.port_range.max = $dist
EOF
  echo "[]." >"$dir/enabled_plugins"
  : >"$dir/rabbitmq-env.conf"
  epmd -address 127.0.0.1 -port "$epmd_port" </dev/null >"$dir/epmd.log" 2>&1 &
  echo $! >"$dir/epmd.pid"
  wait_port "$epmd_port" "$!" "epmd"
  env HOME="$dir/home" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port" \
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
    RABBITMQ_NODENAME="pigtailbench@localhost" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$amqp" \
    RABBITMQ_DIST_PORT="$dist" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/beam.pid" \
    "$server" </dev/null >"$dir/rabbitmq.out" 2>&1 &
  echo $! >"$dir/rabbitmq.pid"
  wait_port "$amqp" "$!" "rabbitmq-server (see $dir/rabbitmq.out)"
  echo "amqp://guest:guest@127.0.0.1:$amqp"
}

# pigtaild on backend URI $2; data in $1.
start_pigtaild() {
  local dir="$1" backend="$2" port
  [[ -x "$PIGTAIL_BIN/pigtaild" ]] || die "no $PIGTAIL_BIN/pigtaild (build it first)"
  port="$(free_port)"
  "$PIGTAIL_BIN/pigtaild" --listen "127.0.0.1:$port" --backend "$backend" --sync batch \
    </dev/null >"$dir/pigtaild.log" 2>&1 &
  echo $! >"$dir/pigtaild.pid"
  wait_port "$port" "$!" "pigtaild (see $dir/pigtaild.log)"
  echo "http://127.0.0.1:$port"
}

cmd_start() {
  local kind="$1" dir="$2" uri
  [[ ! -e "$dir" ]] || die "$dir already exists"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd -P)"
  echo "$kind" >"$dir/kind"
  case "$kind" in
    postgres) start_postgres "$dir" ;;
    redis) start_redis "$dir" ;;
    rabbitmq) start_rabbitmq "$dir" ;;
    pigtail-rocksdb) start_pigtaild "$dir" "rocksdb:$dir/data" ;;
    pigtail-postgres)
      uri="$(start_postgres "$dir")"
      start_pigtaild "$dir" "$uri"
      ;;
    *) die "unknown kind $kind" ;;
  esac
}

cmd_stop() {
  local kind="$1" dir="$2" f
  [[ -d "$dir" ]] || return 0
  dir="$(cd "$dir" && pwd -P)"
  [[ -f "$dir/kind" ]] || die "$dir was not made by services.sh; not removing it"
  # Clients first, then servers: pigtaild before its PostgreSQL, RabbitMQ
  # (its script stops the VM) and then the VM itself, epmd last.
  for f in pigtaild redis rabbitmq beam epmd; do
    [[ -f "$dir/$f.pid" ]] && stop_pid "$(head -n 1 "$dir/$f.pid")"
  done
  if [[ -d "$dir/pg" ]]; then
    bash "$ROOT/scripts/pg_cluster.sh" stop "$dir/pg" >&2 || true
  fi
  rm -rf -- "$dir"
}

(($# == 3)) || die "usage: services.sh {start|stop} KIND DIR"
case "$1" in
  start) cmd_start "$2" "$3" ;;
  stop) cmd_stop "$2" "$3" ;;
  *) die "usage: services.sh {start|stop} KIND DIR" ;;
esac
