#!/usr/bin/env bash
# The DownloadService benchmark, in one run on one machine (see
# docs/benchmarks.md, section "DownloadService benchmark"):
#
#   1. build thesis-server, thesis-load and thesisctl if needed;
#   2. a private PostgreSQL 15 in $BENCH_DIR/downloads/pg, durable (fsync on,
#      synchronous_commit on: checked, and set when not), with a fresh
#      database (unless THESIS_DATABASE_URL names one to use instead);
#   3. thesis-server migrate; $BATCH_THESES bench theses inserted with SQL
#      (bench/gen_records_sql.py), the first of them the hot thesis;
#      thesis-server on 127.0.0.1 (any free port);
#   4. with thesis-load, each phase $WARMUP_S s warm-up + $DURATION_S s:
#      a. empty RPC (Health/Check "liveness"), $CONCURRENCY in flight;
#      b. RecordDownload on the hot thesis, $CONCURRENCY in flight;
#      c. the same, with GetDownloadStats of the hot thesis (today, DAILY)
#         at $STATS_CONCURRENCY in flight alongside (a second thesis-load);
#         and GetDownloadStats alone, for comparison;
#      e. BatchRecordDownloads, $BATCH_SIZE events a call over the bench
#         theses, $BATCH_CONCURRENCY calls in flight;
#   5. thesis-server stopped; f. `psql \copy` of as many equivalent event rows
#      into download_events (bench/gen_download_events.py writes the CSV);
#   6. d. the naive baseline: pgbench -f (UPDATE naive_counts SET count =
#      count + 1 WHERE id = 1, a one-row table), -M prepared, $CONCURRENCY
#      clients, synchronous commit;
#   7. g. the ratios against their targets, a summary, and the section between
#      the bench:downloads markers of docs/benchmarks.md rewritten.
#
# Everything it starts (PostgreSQL, thesis-server, thesis-load) is stopped on
# exit, by pid. Settings are environment variables:
#
#   BUILD_DIR=build CONCURRENCY=64 DURATION_S=20 WARMUP_S=5 WORKERS=8 CHANNELS=4
#   STATS_CONCURRENCY=4 USERS=100000 REQUEST_FRACTION=0.5
#   BATCH_SIZE=5000 BATCH_CONCURRENCY=4 BATCH_THESES=1000
#   PGBENCH_THREADS=2 BENCH_DIR=.bench
#   SERVER_ARGS=""        more thesis-server flags, e.g. "--log_rpcs=false"
#   WRITE_DOC=1           0: leave docs/benchmarks.md alone
#   BENCH_HUGE_PAGES=1    0: do not reserve huge pages (bench/lib_hugepages.sh)
#   QUIET_WAIT_S=0        before each phase wait up to this long for the
#                         machine to be >= 90 % idle (a shared machine)
#   MAX_OTHER_PCT=10 RETRIES=2
#                         repeat a phase (at most RETRIES times) when more than
#                         MAX_OTHER_PCT % of the CPU went to other processes
#   THESIS_DATABASE_URL   use this database (it gets bench-* rows in `theses`,
#                         download events and a table naive_counts) instead of
#                         a private cluster; it must have fsync and
#                         synchronous_commit on
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib_hugepages.sh
. "$ROOT/bench/lib_hugepages.sh"

# The exact command, with every setting given in the environment.
SETTINGS="BUILD_DIR CONCURRENCY DURATION_S WARMUP_S WORKERS CHANNELS STATS_CONCURRENCY USERS
          REQUEST_FRACTION BATCH_SIZE BATCH_CONCURRENCY BATCH_THESES PGBENCH_THREADS BENCH_DIR
          SERVER_ARGS WRITE_DOC QUIET_WAIT_S MAX_OTHER_PCT RETRIES THESIS_DATABASE_URL"
COMMAND=
for v in $SETTINGS; do
  if [ -n "${!v+x}" ]; then
    case "${!v}" in
      *[!A-Za-z0-9_./:@%+=,-]*) COMMAND+="$v='${!v//\'/\'\\\'\'}' " ;;
      *) COMMAND+="$v=${!v} " ;;
    esac
  fi
done
COMMAND+="bash bench/downloads.sh"

BUILD_DIR=${BUILD_DIR:-build}
CONCURRENCY=${CONCURRENCY:-64}
DURATION_S=${DURATION_S:-20}
WARMUP_S=${WARMUP_S:-5}
WORKERS=${WORKERS:-8}
CHANNELS=${CHANNELS:-4}
STATS_CONCURRENCY=${STATS_CONCURRENCY:-4}
USERS=${USERS:-100000}
REQUEST_FRACTION=${REQUEST_FRACTION:-0.5}
BATCH_SIZE=${BATCH_SIZE:-5000}
BATCH_CONCURRENCY=${BATCH_CONCURRENCY:-4}
BATCH_THESES=${BATCH_THESES:-1000}
PGBENCH_THREADS=${PGBENCH_THREADS:-2}
BENCH_DIR=${BENCH_DIR:-$ROOT/.bench}
SERVER_ARGS=${SERVER_ARGS:-}
WRITE_DOC=${WRITE_DOC:-1}
QUIET_WAIT_S=${QUIET_WAIT_S:-0}
MAX_OTHER_PCT=${MAX_OTHER_PCT:-10}
RETRIES=${RETRIES:-2}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DOC=$ROOT/docs/benchmarks.md

case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
case "$BENCH_DIR" in /*) ;; *) BENCH_DIR=$ROOT/$BENCH_DIR ;; esac
WORK=$BENCH_DIR/downloads
LOGS=$WORK/logs
RESULTS=$WORK/results
mkdir -p "$LOGS" "$RESULTS"
rm -f "$RESULTS"/*

log() { printf '[downloads %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
log "command: $COMMAND"

for n in CONCURRENCY DURATION_S WARMUP_S WORKERS CHANNELS STATS_CONCURRENCY USERS BATCH_SIZE \
         BATCH_CONCURRENCY BATCH_THESES PGBENCH_THREADS QUIET_WAIT_S MAX_OTHER_PCT RETRIES; do
  case "${!n}" in '' | *[!0-9]*) die "$n must be a whole number, not '${!n}'" ;; esac
done
if [ "$CONCURRENCY" -lt 1 ] || [ "$DURATION_S" -lt 1 ] || [ "$BATCH_THESES" -lt 1 ] ||
  [ "$BATCH_SIZE" -lt 1 ] || [ "$BATCH_SIZE" -gt 10000 ]; then
  die "CONCURRENCY, DURATION_S and BATCH_THESES must be >= 1, BATCH_SIZE 1 to 10000"
fi

# ---- cleanup: only what this script started, by pid ------------------------
SERVER_PID=
PG_PID=
LOAD_PIDS=()
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
  local rc=$? pid
  for pid in "${LOAD_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  stop_server
  stop_postgres
  bench_release_huge_pages
  rm -f "$WORK/events.csv"
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

# ---- CPU and PostgreSQL accounting ---------------------------------------------
NPROC=$(nproc)
# One sample, read at one moment (so that a busy machine does not stretch the
# window between the readings): wall time, then CPU ticks of the machine
# (busy: not idle, not iowait), of thesis-server, and of PostgreSQL (the
# postmaster with its reaped children, plus the children alive now).
cpu_sample() {
  python3 - "${SERVER_PID:-}" "${PG_PID:-}" <<'EOF'
import os, sys, time

def fields(pid):
    # The fields after the command name: [0] state, [1] ppid, [11] utime,
    # [12] stime, [13] cutime, [14] cstime.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None

def ticks(pid, children=False):
    f = fields(pid)
    if f is None:
        return 0
    return int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)

server, pg = sys.argv[1], sys.argv[2]
kids = [d for d in os.listdir("/proc") if pg and d.isdigit() and (fields(d) or [0, 0])[1] == pg]
now = time.time()
with open("/proc/stat") as f:
    cpu = f.readline().split()
machine = sum(int(cpu[i]) for i in (1, 2, 3, 6, 7, 8))
s = ticks(server) if server else 0
p = ticks(pg, True) + sum(ticks(k) for k in kids) if pg else 0
print(now, machine, s, p)
EOF
}
# Transactions committed in the database, and WAL flushes (fsync/fdatasync)
# of the cluster, as PostgreSQL's statistics report them (flushed by the
# backends about once a second, so approximate over a short window).
pg_counters() {
  "${PSQL[@]}" -At -F ' ' -c "SELECT coalesce((SELECT xact_commit FROM pg_stat_database
    WHERE datname = current_database()), 0), wal_sync, wal_records FROM pg_stat_wal" \
    2>/dev/null || echo "0 0 0"
}
CPU_MARK=()
cpu_mark() {
  local counters sample
  read -r -a counters <<<"$(pg_counters)"
  read -r -a sample <<<"$(cpu_sample)"
  CPU_MARK=("${sample[@]}" "${counters[@]}")
}
# Writes {"wall_s","server","postgres","machine"} (CPU seconds) and
# {"commits","wal_syncs","wal_records"} since cpu_mark. With $2 (a
# cpu_sample taken when the client finished), the window ends then, but
# PostgreSQL's CPU is read now: the backends of a finished client need a
# moment to exit and be reaped before their CPU shows.
cpu_since_mark() {
  local counters sample now
  read -r -a sample <<<"${2:-$(cpu_sample)}"
  if [ -n "${2:-}" ]; then
    read -r -a now <<<"$(cpu_sample)"
    sample[3]=${now[3]}
  fi
  read -r -a counters <<<"$(pg_counters)"
  python3 - "$(getconf CLK_TCK)" "${CPU_MARK[@]}" "${sample[@]}" "${counters[@]}" >"$1" <<'EOF'
import json, sys
tck = float(sys.argv[1])
t0, m0, s0, p0, c0, w0, r0, t1, m1, s1, p1, c1, w1, r1 = map(float, sys.argv[2:16])
print(json.dumps({"wall_s": round(t1 - t0, 2), "server": round((s1 - s0) / tck, 2),
                  "postgres": round((p1 - p0) / tck, 2), "machine": round((m1 - m0) / tck, 2),
                  "commits": int(c1 - c0), "wal_syncs": int(w1 - w0),
                  "wal_records": int(r1 - r0)}))
EOF
}

# Percentage of the machine's CPU that went to neither thesis-server, nor
# PostgreSQL, nor the clients during phase $1 (others' work on a shared
# machine). $1.client-cpu.json holds the clients' CPU seconds.
other_pct() {
  python3 - "$RESULTS" "$1" "$NPROC" <<'EOF'
import json, os, sys
res, name, nproc = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = json.load(open(os.path.join(res, name + ".cpu.json")))
cl = json.load(open(os.path.join(res, name + ".client-cpu.json")))
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

# ---- 2. PostgreSQL, durable ------------------------------------------------------
if [ -n "${THESIS_DATABASE_URL:-}" ]; then
  DB_URL=$THESIS_DATABASE_URL
  log "using THESIS_DATABASE_URL (no private cluster; PostgreSQL CPU not measured)"
else
  PG_DIR=$WORK/pg
  if [ -f "$PG_DIR/data/postmaster.pid" ] &&
    kill -0 "$(head -1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null; then
    die "a PostgreSQL already runs in $PG_DIR (another run of this script?)"
  fi
  log "starting private PostgreSQL in $PG_DIR"
  bench_reserve_huge_pages "${PG_SHARED_BUFFERS:-256MB}"
  # fsync as a new cluster is made; an existing one is checked below.
  admin_url=$(PG_FSYNC=on bash "$ROOT/scripts/pg-private.sh" start "$PG_DIR" postgres | tail -1)
  PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
  kill -0 "$PG_PID" 2>/dev/null || die "no PostgreSQL at pid $PG_PID"
  DB_URL=${admin_url%/postgres}/thesis_downloads
  admin=("$PGBIN/psql" "$admin_url" -qAtX -v ON_ERROR_STOP=1)
  if [ "$("${admin[@]}" -c 'SHOW fsync')" != on ] ||
    [ "$("${admin[@]}" -c 'SHOW synchronous_commit')" != on ]; then
    log "setting fsync = on and synchronous_commit = on in $PG_DIR/data/postgresql.conf"
    conf=$PG_DIR/data/postgresql.conf
    line=$'fsync = on\nsynchronous_commit = on'
    if [ "$(id -u)" -eq 0 ]; then
      printf '%s\n' "$line" | runuser -u postgres -- tee -a "$conf" >/dev/null
    else
      printf '%s\n' "$line" >>"$conf"
    fi
    "${admin[@]}" -c 'SELECT pg_reload_conf()' >/dev/null
    sleep 1
  fi
  "${admin[@]}" -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS thesis_downloads' \
    -c 'CREATE DATABASE thesis_downloads'
fi
PSQL=("$PGBIN/psql" "$DB_URL" -qX -v ON_ERROR_STOP=1)
# Durable means: every commit waits for its WAL to be flushed to disk. Checked
# in a new session, as every connection of the benchmark gets it.
PG_FSYNC=$("${PSQL[@]}" -At -c 'SHOW fsync')
PG_SYNC_COMMIT=$("${PSQL[@]}" -At -c 'SHOW synchronous_commit')
PG_WAL_SYNC=$("${PSQL[@]}" -At -c 'SHOW wal_sync_method')
PG_FPW=$("${PSQL[@]}" -At -c 'SHOW full_page_writes')
if [ "$PG_FSYNC" != on ] || [ "$PG_SYNC_COMMIT" != on ]; then
  die "not durable: fsync = $PG_FSYNC, synchronous_commit = $PG_SYNC_COMMIT"
fi
log "durable: fsync = $PG_FSYNC, synchronous_commit = $PG_SYNC_COMMIT, wal_sync_method = $PG_WAL_SYNC"

# ---- 3. schema, theses, thesis-server --------------------------------------------
log "migrating"
"$SERVER_BIN" migrate --database_url "$DB_URL" >"$LOGS/migrate.log" 2>&1 ||
  die "migrate failed, see $LOGS/migrate.log"
log "inserting $BATCH_THESES bench theses"
python3 "$ROOT/bench/gen_records_sql.py" "$ROOT/deploy/seed/sample-thesis.json" "$BATCH_THESES" |
  "${PSQL[@]}" >/dev/null
THESES=$WORK/theses.txt
"${PSQL[@]}" -At -c "SELECT 'theses/' || id FROM theses WHERE id LIKE 'bench-%' ORDER BY id" >"$THESES"
[ "$(wc -l <"$THESES")" -eq "$BATCH_THESES" ] || die "expected $BATCH_THESES names in $THESES"
HOT=$(head -1 "$THESES")
HOT_ID=${HOT#theses/}

SERVER_PORT=
SERVER_FLAGS=(--workers "$WORKERS" --page_token_secret bench-page-token-secret --drain_s 0
              --shutdown_grace_s 5)
# A server with a metrics endpoint must not take a fixed port (it may be in
# use); none is needed here.
SERVER_HELP=$("$SERVER_BIN" --helpfull 2>&1 || true)
case "$SERVER_HELP" in *-metrics_listen*) SERVER_FLAGS+=(--metrics_listen=) ;; esac
# shellcheck disable=SC2206 # SERVER_ARGS: flags separated by spaces
SERVER_FLAGS+=($SERVER_ARGS)
start_server() {
  local out=$LOGS/server.out
  "$SERVER_BIN" serve --listen 127.0.0.1:0 --database_url "$DB_URL" "${SERVER_FLAGS[@]}" \
    >"$out" 2>"$LOGS/server.err" &
  SERVER_PID=$!
  SERVER_PORT=
  for _ in $(seq 1 300); do
    SERVER_PORT=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$out")
    [ -n "$SERVER_PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "thesis-server exited, see $LOGS/server.err"
    sleep 0.1
  done
  [ -n "$SERVER_PORT" ] || die "thesis-server did not report its port"
  "$CTL_BIN" --server "127.0.0.1:$SERVER_PORT" health --service readiness --wait_s 30 \
    >/dev/null || die "thesis-server not ready"
  log "thesis-server pid $SERVER_PID on 127.0.0.1:$SERVER_PORT: ${SERVER_FLAGS[*]}"
}

# thesis-load arguments for one client: rpc concurrency.
load_args() {
  local channels=$CHANNELS
  [ "$2" -lt "$channels" ] && channels=$2
  LOAD_ARGS=(--target "127.0.0.1:$SERVER_PORT" --rpc "$1" --concurrency "$2"
             --channels "$channels" --warmup_s "$WARMUP_S" --duration_s "$DURATION_S" --json)
  case "$1" in
    record) LOAD_ARGS+=(--thesis "$HOT" --users "$USERS" --request_fraction "$REQUEST_FRACTION") ;;
    stats) LOAD_ARGS+=(--thesis "$HOT") ;;
    batch) LOAD_ARGS+=(--theses_file "$THESES" --batch_size "$BATCH_SIZE" --users "$USERS"
                       --request_fraction "$REQUEST_FRACTION") ;;
  esac
}

# One phase: thesis-load with rpc1 at concurrency1 (results in NAME.json), and
# with rpc2 at concurrency2 alongside when given (NAME.2.json), both over the
# same window.
load_phase() {  # name rpc1 concurrency1 [rpc2 concurrency2]
  local name=$1 pids=() files=() i
  log "$name: $2 x $3${4:+ + $4 x $5} in flight, ${WARMUP_S}s warm-up + ${DURATION_S}s"
  wait_quiet
  load_args "$2" "$3"
  echo "$LOAD_BIN ${LOAD_ARGS[*]}" >"$LOGS/$name.cmd"
  "$LOAD_BIN" "${LOAD_ARGS[@]}" >"$RESULTS/$name.json" 2>"$LOGS/$name.err" &
  pids+=($!); files+=("$name")
  if [ -n "${4:-}" ]; then
    load_args "$4" "$5"
    echo "$LOAD_BIN ${LOAD_ARGS[*]}" >>"$LOGS/$name.cmd"
    "$LOAD_BIN" "${LOAD_ARGS[@]}" >"$RESULTS/$name.2.json" 2>"$LOGS/$name.2.err" &
    pids+=($!); files+=("$name.2")
  fi
  LOAD_PIDS=("${pids[@]}")
  # CPU is counted over the measurement window only.
  sleep "$WARMUP_S"
  cpu_mark
  sleep "$DURATION_S"
  cpu_since_mark "$RESULTS/$name.cpu.json"
  for i in "${!pids[@]}"; do
    # Exit status 1 with a result means calls failed: the errors are reported.
    wait "${pids[$i]}" || python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
      "$RESULTS/${files[$i]}.json" 2>/dev/null ||
      die "$name: thesis-load failed: $(cat "$LOGS/${files[$i]}.err")"
  done
  LOAD_PIDS=()
  python3 - "$RESULTS" "${files[@]}" >"$RESULTS/$name.client-cpu.json" <<'EOF'
import json, os, sys
u = s = 0.0
for f in sys.argv[2:]:
    c = json.load(open(os.path.join(sys.argv[1], f + ".json")))["client_cpu_s"]
    u, s = u + c["user"], s + c["sys"]
print(json.dumps({"user": round(u, 2), "sys": round(s, 2)}))
EOF
  python3 - "$RESULTS" "${files[@]}" <<'EOF' >&2
import json, os, sys
for f in sys.argv[2:]:
    r = json.load(open(os.path.join(sys.argv[1], f + ".json")))
    l = r["latency_ms"]
    extra = f"  {r['events_per_s']:.0f} events/s" if "events_per_s" in r else ""
    outs = " ".join(f"{k}={v}" for k, v in r.get("outcomes", {}).items())
    print(f"    {r['rpc']:6s} {r['qps']:9.1f} QPS{extra}  p50 {l['p50']:.2f} ms  p99 {l['p99']:.2f} ms"
          f"  errors {r['errors']}  bad {r['bad_responses']}  {outs}")
EOF
}
run_load() { with_retries "$1" load_phase "$@"; }

# ---- 4. the phases against thesis-server -------------------------------------------
start_server
run_load empty empty "$CONCURRENCY"
run_load record record "$CONCURRENCY"
run_load record_stats record "$CONCURRENCY" stats "$STATS_CONCURRENCY"
run_load stats stats "$STATS_CONCURRENCY"
run_load batch batch "$BATCH_CONCURRENCY"
stop_server

# What the server stored for the hot thesis: the rollup must agree with the
# events (every COUNTED request event is one Total_Item_Requests).
"${PSQL[@]}" -At -c "
  SELECT json_build_object(
    'events', (SELECT count(*) FROM download_events WHERE thesis_id = '$HOT_ID'),
    'events_by_outcome', (SELECT coalesce(json_object_agg(outcome, n), '{}') FROM
        (SELECT outcome, count(*) AS n FROM download_events WHERE thesis_id = '$HOT_ID'
         GROUP BY outcome) o),
    'counted_request_events', (SELECT count(*) FROM download_events
        WHERE thesis_id = '$HOT_ID' AND kind = 2 AND outcome = 1),
    'daily_total_requests', (SELECT coalesce(sum(total_requests), 0) FROM download_daily
        WHERE thesis_id = '$HOT_ID'),
    'monthly_total_requests', (SELECT coalesce(sum(total_requests), 0) FROM download_monthly
        WHERE thesis_id = '$HOT_ID'),
    'all_events', (SELECT count(*) FROM download_events),
    'request_ids', (SELECT count(*) FROM download_requests))" >"$RESULTS/stored.json"

# ---- 5. psql \copy of as many equivalent events as the batch phase recorded ------------
COPY_ROWS=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["events"])' \
  "$RESULTS/batch.json")
[ "$COPY_ROWS" -ge 1 ] || die "the batch phase recorded no events"
DOUBLE_SHARE=$(python3 - "$RESULTS/batch.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1])).get("outcomes", {})
total = sum(o.values())
print(round(o.get("DOUBLE_CLICK", 0) / total, 4) if total else 0)
EOF
)
CSV=$WORK/events.csv
python3 "$ROOT/bench/gen_download_events.py" "$COPY_ROWS" "$THESES" "$CSV" --users "$USERS" \
  --request_fraction "$REQUEST_FRACTION" --double_click_share "$DOUBLE_SHARE"
COPY_SQL="\\copy download_events (event_time, thesis_id, kind, http_status, user_id, user_cookie, session_cookie, ip, user_agent, request_id, outcome) FROM '$CSV' WITH (FORMAT csv)"
copy_phase() {
  wait_quiet
  log "copy: psql \\copy of $COPY_ROWS event rows into download_events"
  local t0 t1 end
  cpu_mark
  t0=$(date +%s.%N)
  /usr/bin/time -f '{"user": %U, "sys": %S}' -o "$RESULTS/copy.client-cpu.json" \
    "${PSQL[@]}" -c "$COPY_SQL" >"$LOGS/copy.log" 2>&1 || die "copy failed: $(cat "$LOGS/copy.log")"
  t1=$(date +%s.%N)
  end=$(cpu_sample)
  sleep 0.5  # psql's backend exits
  cpu_since_mark "$RESULTS/copy.cpu.json" "$end"
  python3 - "$COPY_ROWS" "$t0" "$t1" >"$RESULTS/copy.json" <<'EOF'
import json, sys
rows, t0, t1 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(json.dumps({"rows": rows, "seconds": round(t1 - t0, 3), "rows_per_s": round(rows / (t1 - t0), 1)}))
EOF
  log "    $(cat "$RESULTS/copy.json")"
}
with_retries copy copy_phase
rm -f "$CSV"

# ---- 6. the naive baseline: one UPDATE ... count + 1 per transaction -------------------
"${PSQL[@]}" -c 'SET client_min_messages = warning' -c 'DROP TABLE IF EXISTS naive_counts' \
  -c 'CREATE TABLE naive_counts (id int PRIMARY KEY, count bigint NOT NULL)' \
  -c 'INSERT INTO naive_counts VALUES (1, 0)' >/dev/null
NAIVE_SQL=$WORK/naive.sql
echo 'UPDATE naive_counts SET count = count + 1 WHERE id = 1;' >"$NAIVE_SQL"
PGBENCH_ARGS=(-n -f "$NAIVE_SQL" -M prepared -c "$CONCURRENCY" -j "$PGBENCH_THREADS")
if [ "$WARMUP_S" -gt 0 ]; then
  log "naive: pgbench warm-up ${WARMUP_S}s"
  "$PGBIN/pgbench" "${PGBENCH_ARGS[@]}" -T "$WARMUP_S" "$DB_URL" >"$LOGS/naive-warmup.log" 2>&1 ||
    die "pgbench failed, see $LOGS/naive-warmup.log"
fi
naive_phase() {
  wait_quiet
  log "naive: pgbench ${PGBENCH_ARGS[*]} -T $DURATION_S"
  local before end
  before=$(ps -o pid= --ppid "${PG_PID:-1}" | wc -l)
  cpu_mark
  /usr/bin/time -f '{"user": %U, "sys": %S}' -o "$RESULTS/naive.client-cpu.json" \
    "$PGBIN/pgbench" "${PGBENCH_ARGS[@]}" -T "$DURATION_S" "$DB_URL" >"$RESULTS/naive.txt" 2>&1 ||
    die "pgbench failed: $(cat "$RESULTS/naive.txt")"
  end=$(cpu_sample)
  # Let pgbench's backends exit, so that their CPU is counted.
  for _ in $(seq 1 50); do
    [ -z "$PG_PID" ] || [ "$(ps -o pid= --ppid "$PG_PID" | wc -l)" -le "$before" ] && break
    sleep 0.1
  done
  cpu_since_mark "$RESULTS/naive.cpu.json" "$end"
  log "    $(grep -E '^tps' "$RESULTS/naive.txt" | head -1)"
}
with_retries naive naive_phase
"${PSQL[@]}" -At -c 'SELECT count FROM naive_counts WHERE id = 1' >"$RESULTS/naive.count"

# ---- 7. summary and docs/benchmarks.md --------------------------------------------------
GIT_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then GIT_COMMIT="$GIT_COMMIT (with uncommitted changes)"; fi
MACHINE_CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MACHINE_MEM=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
PG_VERSION=$("${PSQL[@]}" -At -c 'SHOW server_version')
SERVER_FLAGS_TEXT="${SERVER_FLAGS[*]}"

export COMMAND GIT_COMMIT MACHINE_CPU MACHINE_MEM PG_VERSION CONCURRENCY DURATION_S WARMUP_S \
  WORKERS CHANNELS STATS_CONCURRENCY USERS REQUEST_FRACTION BATCH_SIZE BATCH_CONCURRENCY \
  BATCH_THESES PGBENCH_THREADS PG_FSYNC PG_SYNC_COMMIT PG_WAL_SYNC PG_FPW SERVER_FLAGS_TEXT HOT BENCH_HUGE_PAGES_NOTE
NPROC=$(nproc) DATE=$(date -u '+%Y-%m-%d %H:%M UTC') python3 - "$RESULTS/meta.json" <<'EOF'
import json, os, sys
keys = ["COMMAND", "GIT_COMMIT", "MACHINE_CPU", "MACHINE_MEM", "PG_VERSION", "CONCURRENCY",
        "DURATION_S", "WARMUP_S", "WORKERS", "CHANNELS", "STATS_CONCURRENCY", "USERS",
        "REQUEST_FRACTION", "BATCH_SIZE", "BATCH_CONCURRENCY", "BATCH_THESES", "PGBENCH_THREADS",
        "PG_FSYNC", "PG_SYNC_COMMIT", "PG_WAL_SYNC", "PG_FPW", "SERVER_FLAGS_TEXT", "HOT", "NPROC",
        "DATE", "BENCH_HUGE_PAGES_NOTE"]
with open(sys.argv[1], "w") as f:
    json.dump({k: os.environ[k] for k in keys}, f, indent=1, ensure_ascii=False)
EOF
doc_arg=()
[ "$WRITE_DOC" = 1 ] && doc_arg=("$DOC")
python3 "$ROOT/bench/summarize_downloads.py" "$RESULTS" "${doc_arg[@]}"
log "done; raw results in $RESULTS"
