#!/usr/bin/env bash
# The benchmark, in one run on one machine (see docs/benchmarks.md):
#
#   1. build thesis-server, thesis-load and thesisctl if needed;
#   2. a private PostgreSQL 15 in $BENCH_DIR/pg with a fresh database
#      (unless THESIS_DATABASE_URL names one to use instead);
#   3. thesis-server migrate, then thesis-server on 127.0.0.1 (any free port);
#   4. $RECORDS varied records, inserted directly with SQL;
#   5. the empty RPC (grpc.health.v1.Health/Check "liveness"), then GetThesis,
#      both with $CONCURRENCY calls in flight; then pgbench -S -M prepared on
#      the same database with the same number of clients;
#   6. a summary, and the results section of docs/benchmarks.md rewritten.
#
# Everything it starts (PostgreSQL, thesis-server) is stopped on exit, by pid.
# Settings are environment variables:
#
#   BUILD_DIR=build CONCURRENCY=64 DURATION_S=20 WARMUP_S=5 WORKERS=8 CHANNELS=4
#   RECORDS=10000 PGBENCH_SCALE=10 PGBENCH_THREADS=2 BENCH_DIR=.bench
#   WORKERS_SWEEP=""      e.g. "8 16 32": also measure GetThesis at each value
#   WRITE_DOC=1           0: leave docs/benchmarks.md alone
#   BENCH_HUGE_PAGES=1    0: do not reserve huge pages (bench/lib_hugepages.sh)
#   QUIET_WAIT_S=0        before each phase wait up to this long for the
#                         machine to be >= 90 % idle (a shared machine)
#   MAX_OTHER_PCT=10 RETRIES=2
#                         repeat a phase (at most RETRIES times) when more than
#                         MAX_OTHER_PCT % of the CPU went to other processes
#   THESIS_DATABASE_URL   use this database (it gets bench-* rows in `theses`
#                         and pgbench's tables) instead of a private cluster
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib_hugepages.sh
. "$ROOT/bench/lib_hugepages.sh"

# The exact command, with every setting given in the environment.
SETTINGS="BUILD_DIR CONCURRENCY DURATION_S WARMUP_S WORKERS CHANNELS RECORDS PGBENCH_SCALE
          PGBENCH_THREADS BENCH_DIR WORKERS_SWEEP WRITE_DOC QUIET_WAIT_S MAX_OTHER_PCT RETRIES
          THESIS_DATABASE_URL"
COMMAND=
for v in $SETTINGS; do
  if [ -n "${!v+x}" ]; then
    case "${!v}" in
      *[!A-Za-z0-9_./:@%+=,-]*) COMMAND+="$v='${!v//\'/\'\\\'\'}' " ;;
      *) COMMAND+="$v=${!v} " ;;
    esac
  fi
done
COMMAND+="bash bench/run.sh"

BUILD_DIR=${BUILD_DIR:-build}
CONCURRENCY=${CONCURRENCY:-64}
DURATION_S=${DURATION_S:-20}
WARMUP_S=${WARMUP_S:-5}
# Database worker threads of thesis-server (one connection each). Chosen by
# a sweep on a 2-core machine; see docs/benchmarks.md.
WORKERS=${WORKERS:-8}
# Separate gRPC channels (TCP connections) the load client spreads calls over.
CHANNELS=${CHANNELS:-4}
RECORDS=${RECORDS:-10000}
PGBENCH_SCALE=${PGBENCH_SCALE:-10}
PGBENCH_THREADS=${PGBENCH_THREADS:-2}
BENCH_DIR=${BENCH_DIR:-$ROOT/.bench}
WORKERS_SWEEP=${WORKERS_SWEEP:-}
WRITE_DOC=${WRITE_DOC:-1}
QUIET_WAIT_S=${QUIET_WAIT_S:-0}
MAX_OTHER_PCT=${MAX_OTHER_PCT:-10}
RETRIES=${RETRIES:-2}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DOC=$ROOT/docs/benchmarks.md

case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
case "$BENCH_DIR" in /*) ;; *) BENCH_DIR=$ROOT/$BENCH_DIR ;; esac
LOGS=$BENCH_DIR/logs
RESULTS=$BENCH_DIR/results
mkdir -p "$LOGS" "$RESULTS"
rm -f "$RESULTS"/*

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- cleanup: only what this script started, by pid ------------------------
SERVER_PID=
PG_PID=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
stop_postgres() {
  if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
    kill -INT "$PG_PID" 2>/dev/null || true  # fast shutdown
    for _ in $(seq 1 300); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  PG_PID=
}
cleanup() {
  local rc=$?
  stop_server
  stop_postgres
  bench_release_huge_pages
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. build ---------------------------------------------------------------
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  log "configuring $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DTHESIS_BUILD_TESTS=OFF >"$LOGS/cmake.log"
fi
log "building thesis-server thesis-load thesisctl in $BUILD_DIR"
cmake --build "$BUILD_DIR" -j2 --target thesis-server thesis-load thesisctl >"$LOGS/build.log" ||
  die "build failed, see $LOGS/build.log"
SERVER_BIN=$BUILD_DIR/server/thesis-server
LOAD_BIN=$BUILD_DIR/bench/thesis-load
CTL_BIN=$BUILD_DIR/client/thesisctl
for b in "$SERVER_BIN" "$LOAD_BIN" "$CTL_BIN"; do [ -x "$b" ] || die "missing $b"; done

# ---- CPU accounting ---------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)
# utime+stime of a process, in ticks; with "all": plus its reaped children.
proc_ticks() {  # pid [all]
  local stat f
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  # Fields after the command name: f[0] is field 3 (state), f[11] utime,
  # f[12] stime, f[13] cutime, f[14] cstime.
  read -r -a f <<<"${stat##*) }"
  if [ "${2:-}" = all ]; then
    echo $((f[11] + f[12] + f[13] + f[14]))
  else
    echo $((f[11] + f[12]))
  fi
}
# Every PostgreSQL process: the postmaster with its reaped children, plus the
# children alive now.
pg_ticks() {
  [ -n "$PG_PID" ] || { echo 0; return; }
  local total child
  total=$(proc_ticks "$PG_PID" all)
  for child in $(ps -o pid= --ppid "$PG_PID"); do total=$((total + $(proc_ticks "$child"))); done
  echo "$total"
}
# Busy (non-idle, non-iowait) ticks of the whole machine.
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
CPU_MARK=()
cpu_mark() {
  local server pg machine
  server=$(proc_ticks "${SERVER_PID:-0}"); pg=$(pg_ticks); machine=$(machine_ticks)
  CPU_MARK=("$(date +%s.%N)" "$server" "$pg" "$machine")
}
# Writes {"wall_s","server","postgres","machine"} (CPU seconds) since cpu_mark.
# With $2 (from `date +%s.%N`), the window ends then although CPU is read now:
# PostgreSQL backends of a finished client need a moment to exit and be reaped.
cpu_since_mark() {
  local now server pg machine
  now=${2:-$(date +%s.%N)}; server=$(proc_ticks "${SERVER_PID:-0}"); pg=$(pg_ticks); machine=$(machine_ticks)
  python3 - "$CLK_TCK" "${CPU_MARK[@]}" "$now" "$server" "$pg" "$machine" >"$1" <<'EOF'
import json, sys
tck = float(sys.argv[1])
t0, s0, p0, m0, t1, s1, p1, m1 = map(float, sys.argv[2:10])
print(json.dumps({"wall_s": round(t1 - t0, 2), "server": round((s1 - s0) / tck, 2),
                  "postgres": round((p1 - p0) / tck, 2), "machine": round((m1 - m0) / tck, 2)}))
EOF
}

# Percentage of the machine's CPU that went to neither thesis-server, nor
# PostgreSQL, nor the load client during phase $1 (others' work on a shared
# machine).
other_pct() {
  python3 - "$RESULTS" "$1" "$NPROC" <<'EOF'
import json, os, sys
res, name, nproc = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = json.load(open(os.path.join(res, name + ".cpu.json")))
if name == "pgbench":
    cl = json.load(open(os.path.join(res, "pgbench.client-cpu.json")))
else:
    cl = json.load(open(os.path.join(res, name + ".json")))["client_cpu_s"]
other = c["machine"] - c["server"] - c["postgres"] - cl["user"] - cl["sys"]
print(max(0, round(100 * other / (nproc * c["wall_s"]))))
EOF
}

# Idle percentage of the machine over the next $1 seconds.
idle_pct() {
  local a b i busy=0 total=0
  read -r -a a </proc/stat
  sleep "$1"
  read -r -a b </proc/stat
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  busy=$((total - (b[4] - a[4]) - (b[5] - a[5])))
  echo $((total > 0 ? 100 * (total - busy) / total : 0))
}
# Everything on the machine shares the same CPUs: say so when it is busy.
wait_quiet() {
  local deadline=$((SECONDS + QUIET_WAIT_S)) idle
  while true; do
    idle=$(idle_pct 2)
    [ "$idle" -ge 90 ] && return
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "warning: the machine is only $idle % idle before this phase; results will be lower"
      return
    fi
  done
}

# ---- 2. PostgreSQL ------------------------------------------------------------
if [ -n "${THESIS_DATABASE_URL:-}" ]; then
  DB_URL=$THESIS_DATABASE_URL
  log "using THESIS_DATABASE_URL (no private cluster; PostgreSQL CPU not measured)"
else
  PG_DIR=$BENCH_DIR/pg
  log "starting private PostgreSQL in $PG_DIR"
  bench_reserve_huge_pages "${PG_SHARED_BUFFERS:-256MB}"
  admin_url=$(bash "$ROOT/scripts/pg-private.sh" start "$PG_DIR" postgres | tail -1)
  PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
  kill -0 "$PG_PID" 2>/dev/null || die "no PostgreSQL at pid $PG_PID"
  DB_URL=${admin_url%/postgres}/thesis_bench
  "$PGBIN/psql" "$admin_url" -qX -v ON_ERROR_STOP=1 \
    -c 'DROP DATABASE IF EXISTS thesis_bench' -c 'CREATE DATABASE thesis_bench' >/dev/null
fi
PSQL=("$PGBIN/psql" "$DB_URL" -qX -v ON_ERROR_STOP=1)

# ---- 3. schema and records ---------------------------------------------------
log "migrating"
"$SERVER_BIN" migrate --database_url "$DB_URL" >"$LOGS/migrate.log" 2>&1 ||
  die "migrate failed, see $LOGS/migrate.log"
log "loading $RECORDS records"
python3 "$ROOT/bench/gen_records_sql.py" "$ROOT/deploy/seed/sample-thesis.json" "$RECORDS" |
  "${PSQL[@]}" >/dev/null
NAMES=$BENCH_DIR/names.txt
"${PSQL[@]}" -At -c "SELECT 'theses/' || id FROM theses WHERE id LIKE 'bench-%' ORDER BY id" >"$NAMES"
[ "$(wc -l <"$NAMES")" -eq "$RECORDS" ] || die "expected $RECORDS names in $NAMES"
TABLE_SIZE=$("${PSQL[@]}" -At -c "SELECT pg_size_pretty(pg_total_relation_size('theses'))")
AVG_ROW=$("${PSQL[@]}" -At -c \
  "SELECT round(avg(pg_column_size(t.*))) FROM theses t WHERE id LIKE 'bench-%'")

# ---- thesis-server -------------------------------------------------------------
SERVER_PORT=
start_server() {  # workers
  local out=$LOGS/server-w$1.out
  "$SERVER_BIN" serve --listen 127.0.0.1:0 --database_url "$DB_URL" --workers "$1" \
    --page_token_secret bench-page-token-secret --drain_s 0 --shutdown_grace_s 5 \
    >"$out" 2>"$LOGS/server-w$1.err" &
  SERVER_PID=$!
  SERVER_PORT=
  for _ in $(seq 1 300); do
    SERVER_PORT=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$out")
    [ -n "$SERVER_PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "thesis-server exited, see $LOGS/server-w$1.err"
    sleep 0.1
  done
  [ -n "$SERVER_PORT" ] || die "thesis-server did not report its port"
  "$CTL_BIN" --server "127.0.0.1:$SERVER_PORT" health --service readiness --wait_s 30 \
    >/dev/null || die "thesis-server not ready"
  log "thesis-server pid $SERVER_PID on 127.0.0.1:$SERVER_PORT, --workers $1"
}

# Runs a phase ($2: a function) until no more than MAX_OTHER_PCT % of the CPU
# went elsewhere, at most 1 + RETRIES times.
with_retries() {  # name function args...
  local name=$1 attempt other
  shift
  for attempt in $(seq 0 "$RETRIES"); do
    "$@"
    other=$(other_pct "$name")
    [ "$other" -le "$MAX_OTHER_PCT" ] && return
    log "$name: $other % of the CPU went to other processes$([ "$attempt" -lt "$RETRIES" ] && echo "; again")"
  done
}

load_phase() {  # name rpc
  local name=$1 rpc=$2
  log "$name: $rpc, $CONCURRENCY in flight over $CHANNELS channels, ${WARMUP_S}s warm-up + ${DURATION_S}s"
  local args=(--target "127.0.0.1:$SERVER_PORT" --rpc "$rpc" --concurrency "$CONCURRENCY"
              --channels "$CHANNELS" --warmup_s "$WARMUP_S" --duration_s "$DURATION_S" --json)
  [ "$rpc" = get ] && args+=(--names_file "$NAMES")
  wait_quiet
  # CPU is counted over the measurement window only.
  ("$LOAD_BIN" "${args[@]}" >"$RESULTS/$name.json" 2>"$LOGS/$name.err") &
  local pid=$!
  sleep "$WARMUP_S"
  cpu_mark
  sleep "$DURATION_S"
  cpu_since_mark "$RESULTS/$name.cpu.json"
  # Exit status 1 with a result means calls failed: the errors are reported.
  wait "$pid" || python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$RESULTS/$name.json" \
    2>/dev/null || die "$name: thesis-load failed: $(cat "$LOGS/$name.err")"
}
run_load() { with_retries "$1" load_phase "$@"; }

# ---- optional sweep over --workers ----------------------------------------------
if [ -n "$WORKERS_SWEEP" ]; then
  for w in $WORKERS_SWEEP; do
    start_server "$w"
    run_load "sweep-get-w$w" get
    stop_server
  done
fi

# ---- 4. the empty RPC, then GetThesis -------------------------------------------
start_server "$WORKERS"
run_load empty empty
run_load get get
stop_server

# ---- 5. pgbench -S -M prepared, same database, same concurrency -------------------
log "pgbench -i -s $PGBENCH_SCALE"
"$PGBIN/pgbench" -i -q -s "$PGBENCH_SCALE" "$DB_URL" >"$LOGS/pgbench-init.log" 2>&1 ||
  die "pgbench -i failed, see $LOGS/pgbench-init.log"
PGBENCH_ARGS=(-S -M prepared -c "$CONCURRENCY" -j "$PGBENCH_THREADS")
if [ "$WARMUP_S" -gt 0 ]; then
  log "pgbench warm-up ${WARMUP_S}s"
  "$PGBIN/pgbench" "${PGBENCH_ARGS[@]}" -T "$WARMUP_S" "$DB_URL" >"$LOGS/pgbench-warmup.log" 2>&1
fi
pgbench_phase() {
  wait_quiet
  log "pgbench ${PGBENCH_ARGS[*]} -T $DURATION_S"
  local before end
  before=$(ps -o pid= --ppid "${PG_PID:-1}" | wc -l)
  cpu_mark
  /usr/bin/time -f '{"user": %U, "sys": %S}' -o "$RESULTS/pgbench.client-cpu.json" \
    "$PGBIN/pgbench" "${PGBENCH_ARGS[@]}" -T "$DURATION_S" "$DB_URL" >"$RESULTS/pgbench.txt" 2>&1 ||
    die "pgbench failed: $(cat "$RESULTS/pgbench.txt")"
  end=$(date +%s.%N)
  # Let pgbench's backends exit, so that their CPU is counted.
  for _ in $(seq 1 50); do
    [ -z "$PG_PID" ] || [ "$(ps -o pid= --ppid "$PG_PID" | wc -l)" -le "$before" ] && break
    sleep 0.1
  done
  cpu_since_mark "$RESULTS/pgbench.cpu.json" "$end"
}
with_retries pgbench pgbench_phase

# ---- 6. summary and docs/benchmarks.md ---------------------------------------------
GIT_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then GIT_COMMIT="$GIT_COMMIT (with uncommitted changes)"; fi
MACHINE_CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MACHINE_MEM=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
PG_VERSION=$("${PSQL[@]}" -At -c 'SHOW server_version')

export COMMAND GIT_COMMIT MACHINE_CPU MACHINE_MEM PG_VERSION CONCURRENCY DURATION_S WARMUP_S \
  WORKERS CHANNELS RECORDS PGBENCH_SCALE PGBENCH_THREADS TABLE_SIZE AVG_ROW WORKERS_SWEEP \
  BENCH_HUGE_PAGES_NOTE
NPROC=$(nproc) DATE=$(date -u '+%Y-%m-%d %H:%M UTC') python3 - "$RESULTS/meta.json" <<'EOF'
import json, os, sys
keys = ["COMMAND", "GIT_COMMIT", "MACHINE_CPU", "MACHINE_MEM", "PG_VERSION", "CONCURRENCY",
        "DURATION_S", "WARMUP_S", "WORKERS", "CHANNELS", "RECORDS", "PGBENCH_SCALE",
        "PGBENCH_THREADS", "TABLE_SIZE", "AVG_ROW", "WORKERS_SWEEP", "NPROC", "DATE",
        "BENCH_HUGE_PAGES_NOTE"]
with open(sys.argv[1], "w") as f:
    json.dump({k: os.environ[k] for k in keys}, f, indent=1, ensure_ascii=False)
EOF
doc_arg=()
[ "$WRITE_DOC" = 1 ] && doc_arg=("$DOC")
python3 "$ROOT/bench/summarize.py" "$RESULTS" "${doc_arg[@]}"
log "done; raw results in $RESULTS"
