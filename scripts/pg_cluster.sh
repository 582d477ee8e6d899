#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for tests and benchmarks.
#
#   scripts/pg_cluster.sh start DIR     create a cluster in DIR (which must not
#                                       hold one yet), start it on a unix socket
#                                       in DIR, create the database pigtail_test
#                                       and print its libpq URI on stdout
#   scripts/pg_cluster.sh restart DIR   stop and start the cluster in DIR again
#   scripts/pg_cluster.sh halt DIR      stop the server, keep the cluster
#   scripts/pg_cluster.sh resume DIR    start a halted cluster again
#   scripts/pg_cluster.sh stop DIR      stop the server (by the PID in
#                                       DIR/data/postmaster.pid) and remove DIR
#
# The server listens on no TCP port (listen_addresses=''), only on the socket
# DIR/.s.PGSQL.5432, so clusters in different directories never collide and
# the system's default cluster is never touched. Local connections use trust
# auth for the superuser `postgres`, except for members of the group role
# `pigtail_password_login` (created empty, NOLOGIN): they must give their
# password (scram-sha-256), so a test can make a role that needs one with
#   CREATE ROLE r LOGIN PASSWORD '...' IN ROLE pigtail_password_login
# PostgreSQL refuses to run as root: when
# run as root, DIR is given to the postgres user and the server runs as that
# user. Only stdout carries the URI; progress and errors go to stderr and the
# server log goes to DIR/server.log.
set -euo pipefail

PG_BIN="${PG_BIN:-}"
if [[ -z "$PG_BIN" ]]; then
  for v in 17 16 15 14 13; do
    if [[ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]]; then
      PG_BIN="/usr/lib/postgresql/$v/bin"
      break
    fi
  done
fi
readonly MARKER=".pigtail_pg_cluster"
readonly WAIT_SECONDS=60

die() {
  echo "pg_cluster.sh: $*" >&2
  exit 1
}

usage() {
  die "usage: pg_cluster.sh {start|restart|halt|resume|stop} DIR"
}

# Runs a command as the postgres user when we are root, else as ourselves.
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Percent-encodes $1 for use as a URI query value.
uri_encode() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [a-zA-Z0-9/._~-]) out+="$c" ;;
      *) out+="$(printf '%%%02X' "'$c")" ;;
    esac
  done
  printf '%s' "$out"
}

server_start() {
  local dir="$1"
  as_pg "$PG_BIN/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w \
    -t "$WAIT_SECONDS" >&2 || {
    tail -n 20 "$dir/server.log" >&2 || true
    die "server in $dir did not start"
  }
  # pg_ctl -w already waited; confirm the socket accepts connections (bounded).
  local i
  for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
    if as_pg "$PG_BIN/pg_isready" -q -h "$dir" -U postgres -d postgres; then
      return 0
    fi
    sleep 0.1
  done
  die "server in $dir is not accepting connections after ${WAIT_SECONDS}s"
}

server_stop() {
  local dir="$1" pidfile="$1/data/postmaster.pid"
  [[ -f "$pidfile" ]] || return 0
  local pid
  pid="$(head -n 1 "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || die "malformed $pidfile"
  # pg_ctl signals the PID recorded in postmaster.pid.
  if as_pg "$PG_BIN/pg_ctl" stop -D "$dir/data" -m fast -w -t "$WAIT_SECONDS" >&2; then
    return 0
  fi
  # Fall back to that same PID directly, bounded.
  echo "pg_cluster.sh: pg_ctl stop failed; signalling PID $pid" >&2
  kill -TERM "$pid" 2>/dev/null || return 0
  local i
  for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_start() {
  local dir="$1"
  [[ -n "$PG_BIN" ]] || die "no PostgreSQL server binaries found (install the postgresql package)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd -P)"
  [[ ! -e "$dir/data" ]] || die "$dir/data already exists"
  # The unix socket path must fit in sockaddr_un (107 bytes).
  ((${#dir} <= 90)) || die "$dir is too long for a unix socket directory"
  touch "$dir/$MARKER"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres: "$dir"
    as_pg test -w "$dir" || die "user postgres cannot write $dir (check its parents' permissions)"
  fi
  as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed in $dir"
  }
  # Members of pigtail_password_login need a password; everyone else is trusted.
  local hba="$dir/data/pg_hba.conf"
  {
    echo "# Added by scripts/pg_cluster.sh"
    echo "local all +pigtail_password_login scram-sha-256"
    cat "$hba"
  } >"$hba.new"
  mv "$hba.new" "$hba"
  chmod 600 "$hba"
  [[ "$(id -u)" != 0 ]] || chown postgres: "$hba"
  {
    echo "# Added by scripts/pg_cluster.sh"
    echo "password_encryption = 'scram-sha-256'"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    echo "port = 5432"
    echo "max_connections = 200"
  } >>"$dir/data/postgresql.conf"
  server_start "$dir"
  as_pg "$PG_BIN/createdb" -h "$dir" -U postgres pigtail_test >&2 ||
    die "createdb pigtail_test failed"
  as_pg "$PG_BIN/psql" -h "$dir" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE pigtail_password_login NOLOGIN" >&2 ||
    die "creating the role pigtail_password_login failed"
  echo "postgresql:///pigtail_test?host=$(uri_encode "$dir")&user=postgres"
}

# Prints the absolute path of cluster directory $1, or dies.
cluster_dir() {
  local dir
  dir="$(cd "$1" 2>/dev/null && pwd -P)" || die "no such directory: $1"
  [[ -f "$dir/$MARKER" ]] || die "$dir was not made by pg_cluster.sh"
  printf '%s' "$dir"
}

cmd_restart() {
  local dir
  dir="$(cluster_dir "$1")"
  server_stop "$dir"
  server_start "$dir"
}

cmd_halt() {
  local dir
  dir="$(cluster_dir "$1")"
  server_stop "$dir"
}

cmd_resume() {
  local dir
  dir="$(cluster_dir "$1")"
  server_start "$dir"
}

cmd_stop() {
  local dir="$1"
  [[ -d "$dir" ]] || return 0
  dir="$(cd "$dir" && pwd -P)"
  [[ -f "$dir/$MARKER" ]] || die "$dir was not made by pg_cluster.sh; not removing it"
  server_stop "$dir"
  rm -rf -- "$dir"
}

(($# == 2)) || usage
case "$1" in
  start) cmd_start "$2" ;;
  restart) cmd_restart "$2" ;;
  halt) cmd_halt "$2" ;;
  resume) cmd_resume "$2" ;;
  stop) cmd_stop "$2" ;;
  *) usage ;;
esac
