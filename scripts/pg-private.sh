#!/usr/bin/env bash
# A private PostgreSQL 15 cluster in a directory of its own, on loopback.
#
#   pg-private.sh start DIR [DBNAME]  init (first time) and start; prints the URL
#   pg-private.sh stop DIR            stop it (fast shutdown)
#   pg-private.sh url DIR [DBNAME]    print the URL of a running cluster
#
# A new cluster takes PG_FSYNC (default on) and PG_SHARED_BUFFERS (default
# 256MB) from the environment; every start takes PG_HUGE_PAGES (default
# try, PostgreSQL's own default; the benchmarks set on, bench/lib_hugepages.sh).
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# `postgres` user that Debian's package creates, in a directory it owns.
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg-private.sh start|stop|url DIR [DBNAME]}
dir=${2:?usage: pg-private.sh start|stop|url DIR [DBNAME]}
db=${3:-thesis}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_of() { sed -n 's/^port = \([0-9]*\).*/\1/p' "$data/postgresql.auto.conf" 2>/dev/null | tail -1; }

url() { echo "postgresql://postgres@127.0.0.1:$(port_of)/$db"; }

free_port() {
  # The kernel picks a free port for us; PostgreSQL binds it right after.
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres:postgres "$dir"
      if ! runuser -u postgres -- test -w "$dir"; then
        echo "pg-private: user postgres cannot write $dir (a parent directory is closed to it)" >&2
        exit 1
      fi
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
      {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "max_connections = 200"
        echo "shared_buffers = ${PG_SHARED_BUFFERS:-256MB}"
        echo "fsync = ${PG_FSYNC:-on}"
      } | as_owner tee -a "$data/postgresql.conf" >/dev/null
    fi
    if as_owner "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      url
      exit 0
    fi
    # A restarted cluster keeps its port, so URLs handed out stay valid.
    previous=$(port_of)
    for attempt in 1 2 3 4 5; do
      if [ "$attempt" -eq 1 ] && [ -n "$previous" ]; then port=$previous; else port=$(free_port); fi
      as_owner "$PGBIN/pg_ctl" -D "$data" -o "-p $port -c huge_pages=${PG_HUGE_PAGES:-try}" -l "$dir/server.log" -w -t 60 start >/dev/null && {
        [ "$port" = "$previous" ] || echo "port = $port" | as_owner tee -a "$data/postgresql.auto.conf" >/dev/null
        break
      }
      [ "$attempt" -eq 5 ] && { echo "pg-private: cannot start PostgreSQL, see $dir/server.log" >&2; exit 1; }
    done
    as_owner "$PGBIN/psql" -h 127.0.0.1 -p "$(port_of)" -U postgres -d postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
      as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$(port_of)" -U postgres "$db"
    url
    ;;
  stop)
    if [ -f "$data/postmaster.pid" ]; then
      as_owner "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
    fi
    ;;
  url)
    url
    ;;
  *)
    echo "usage: pg-private.sh start|stop|url DIR [DBNAME]" >&2
    exit 2
    ;;
esac
