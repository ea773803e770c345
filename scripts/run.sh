#!/usr/bin/env bash
# Installs what is missing, builds, and serves the thesis API on
# localhost:50051 with the sample record loaded. Without THESIS_DATABASE_URL
# it starts a private PostgreSQL under .run/ in the project directory (kept
# between runs). Ctrl-C stops the server and that PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${BUILD_DIR:-build}
listen=${THESIS_LISTEN:-localhost:50051}

bash scripts/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target thesis-server thesisctl

mkdir -p .run
started_pg=""
if [ -z "${THESIS_DATABASE_URL:-}" ]; then
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$root"; then
    echo "run: the postgres user cannot enter $root; move the project or set THESIS_DATABASE_URL" >&2
    exit 1
  fi
  THESIS_DATABASE_URL=$(bash scripts/pg-private.sh start .run/pg thesis)
  export THESIS_DATABASE_URL
  started_pg=1
  echo "run: private PostgreSQL at $THESIS_DATABASE_URL (data in .run/pg)"
fi
if [ -z "${THESIS_PAGE_TOKEN_SECRET:-}" ]; then
  [ -s .run/page-token-secret ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >.run/page-token-secret
  THESIS_PAGE_TOKEN_SECRET=$(cat .run/page-token-secret)
  export THESIS_PAGE_TOKEN_SECRET
fi

"$build/server/thesis-server" migrate

# The COUNTER robots list, when the shared reference data is beside the project.
if [ -z "${THESIS_ROBOTS_FILE:-}" ] && [ -f ../shared/data/counter-robots/COUNTER_Robots_list.json ]; then
  THESIS_ROBOTS_FILE=$(cd ../shared/data/counter-robots && pwd)/COUNTER_Robots_list.json
  export THESIS_ROBOTS_FILE
fi

"$build/server/thesis-server" --listen "$listen" --reflection >.run/server.out &
server_pid=$!
stop() {
  trap - INT TERM EXIT
  kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" || true
  if [ -n "$started_pg" ]; then bash "$root/scripts/pg-private.sh" stop .run/pg; fi
}
trap stop INT TERM EXIT

ctl() { "$build/client/thesisctl" --server "$listen" "$@"; }
ctl health --service readiness --wait_s 30 >/dev/null
# The sample record (from CNKI's page for one master's thesis); already there on later runs.
if ctl get theses/seed-lzu-2009-zheng >/dev/null 2>&1; then
  echo "run: sample record theses/seed-lzu-2009-zheng already loaded"
else
  ctl create --file deploy/seed/sample-thesis.json --id seed-lzu-2009-zheng >/dev/null
  echo "run: loaded the sample record theses/seed-lzu-2009-zheng"
fi

cat <<MSG

The thesis service is serving on $listen (server pid $server_pid). Try:
  $build/client/thesisctl --server $listen get theses/seed-lzu-2009-zheng
  $build/client/thesisctl --server $listen list --filter 'institution = "兰州大学"'
  $build/client/thesisctl --server $listen --json get theses/seed-lzu-2009-zheng
  $build/client/thesisctl --server $listen downloads record seed-lzu-2009-zheng --kind request \\
      --user u1 --user_agent 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0'
  $build/client/thesisctl --server $listen downloads stats seed-lzu-2009-zheng --granularity daily
  $build/client/thesisctl --server $listen classes get D6     # the seed (D630) counts under D > D6
  $build/client/thesisctl --server $listen classes resolve 'D630;TP311.13'
  grpcurl -plaintext $listen list            # reflection is on (grpcurl is not a Debian package)
Health: $build/client/thesisctl --server $listen health --service readiness
Press Ctrl-C to stop.
MSG
wait "$server_pid"
