#!/usr/bin/env bash
# ClassificationService benchmark, in one run on one machine (see the
# "Classification" section of docs/benchmarks.md):
#
#   1. a private PostgreSQL 15 in $BENCH_DIR/pg-classes, a fresh database,
#      thesis-server migrate;
#   2. $RECORDS realistic theses (bench/gen_theses.py: real titles and
#      abstracts of ../shared/data/csl, CLC codes drawn from clc5.tsv, one in
#      five deeper than the table), loaded with COPY;
#   3. thesis-server, then `thesisctl classes import clc5.tsv`: the full CLC
#      table (45,785 classes), which places every thesis and computes every
#      rolled-up count (timed);
#   4. the counts of the top-level classes checked against a recount in SQL;
#   5. for each concurrency in $CONCURRENCY_LIST: GetThesis (the baseline) and
#      GetClass of the 22 top-level classes, same server, same settings;
#   6. EXPLAIN ANALYZE of GetClass's statement, and the results section of
#      docs/benchmarks.md rewritten (WRITE_DOC=0 leaves it).
#
# Everything it starts is stopped on exit, by pid. Settings (environment):
#   BUILD_DIR=build RECORDS=200000 CONCURRENCY_LIST="1 16 64" DURATION_S=15
#   WARMUP_S=3 WORKERS=8 CHANNELS=4 BENCH_DIR=.bench WRITE_DOC=1
#   BENCH_HUGE_PAGES=1 (0: do not reserve huge pages; bench/lib_hugepages.sh)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib_hugepages.sh
. "$ROOT/bench/lib_hugepages.sh"
COMMAND=
for v in BUILD_DIR RECORDS CONCURRENCY_LIST DURATION_S WARMUP_S WORKERS CHANNELS BENCH_DIR WRITE_DOC; do
  [ -n "${!v+x}" ] && COMMAND+="$v='${!v}' "
done
COMMAND+="bash bench/classes.sh"

BUILD_DIR=${BUILD_DIR:-build}
RECORDS=${RECORDS:-200000}
CONCURRENCY_LIST=${CONCURRENCY_LIST:-1 16 64}
DURATION_S=${DURATION_S:-15}
WARMUP_S=${WARMUP_S:-3}
WORKERS=${WORKERS:-8}
CHANNELS=${CHANNELS:-4}
BENCH_DIR=${BENCH_DIR:-$ROOT/.bench}
WRITE_DOC=${WRITE_DOC:-1}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DATA=$ROOT/../shared/data
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
case "$BENCH_DIR" in /*) ;; *) BENCH_DIR=$ROOT/$BENCH_DIR ;; esac
LOGS=$BENCH_DIR/logs-classes
RESULTS=$BENCH_DIR/results-classes
mkdir -p "$LOGS" "$RESULTS"
rm -f "$RESULTS"/*

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
[ -f "$DATA/clc/clc5.tsv" ] || die "$DATA is absent: this benchmark needs ../shared/data"

SERVER_PID=
PG_DIR=$BENCH_DIR/pg-classes
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  bash "$ROOT/scripts/pg-private.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  bench_release_huge_pages
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building thesis-server thesis-load thesisctl in $BUILD_DIR"
cmake --build "$BUILD_DIR" -j2 --target thesis-server thesis-load thesisctl >"$LOGS/build.log" ||
  die "build failed, see $LOGS/build.log"
SERVER_BIN=$BUILD_DIR/server/thesis-server
LOAD_BIN=$BUILD_DIR/bench/thesis-load
CTL_BIN=$BUILD_DIR/client/thesisctl

# ---- 1. PostgreSQL and schema ------------------------------------------------------
log "starting private PostgreSQL in $PG_DIR"
bench_reserve_huge_pages "${PG_SHARED_BUFFERS:-256MB}"
admin_url=$(bash "$ROOT/scripts/pg-private.sh" start "$PG_DIR" postgres | tail -1)
DB_URL=${admin_url%/postgres}/thesis_bench_classes
"$PGBIN/psql" "$admin_url" -qX -v ON_ERROR_STOP=1 -c 'DROP DATABASE IF EXISTS thesis_bench_classes' \
  -c 'CREATE DATABASE thesis_bench_classes' >/dev/null
PSQL=("$PGBIN/psql" "$DB_URL" -qX -v ON_ERROR_STOP=1)
"$SERVER_BIN" migrate --database_url "$DB_URL" >"$LOGS/migrate.log" 2>&1 ||
  die "migrate failed, see $LOGS/migrate.log"

# ---- 2. records ------------------------------------------------------------------------
log "loading $RECORDS generated theses"
t0=$(date +%s.%N)
python3 "$ROOT/bench/gen_theses.py" "$DATA" "$RECORDS" |
  "${PSQL[@]}" -c "COPY theses ($(python3 "$ROOT/bench/gen_theses.py" --columns)) FROM STDIN"
"${PSQL[@]}" -c 'ANALYZE'
LOAD_S=$(echo "$(date +%s.%N) - $t0" | bc)

# ---- 3. server and the full CLC table ------------------------------------------------------
out=$LOGS/server.out
"$SERVER_BIN" serve --listen 127.0.0.1:0 --database_url "$DB_URL" --workers "$WORKERS" \
  --page_token_secret bench --drain_s 0 --shutdown_grace_s 5 --log_rpcs=false \
  >"$out" 2>"$LOGS/server.err" &
SERVER_PID=$!
PORT=
for _ in $(seq 1 300); do
  PORT=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$out")
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "thesis-server exited, see $LOGS/server.err"
  sleep 0.1
done
[ -n "$PORT" ] || die "thesis-server did not report its port"
CTL=("$CTL_BIN" --server "127.0.0.1:$PORT")
"${CTL[@]}" health --service readiness --wait_s 30 >/dev/null || die "thesis-server not ready"
log "importing the CLC table (places $RECORDS theses)"
t0=$(date +%s.%N)
"${CTL[@]}" --json classes import "$DATA/clc/clc5.tsv" --scheme clc --version 5 \
  >"$RESULTS/import.json" 2>"$LOGS/import.err" || [ $? -eq 8 ] ||
  die "classes import failed, see $LOGS/import.err"
IMPORT_S=$(echo "$(date +%s.%N) - $t0" | bc)
"${PSQL[@]}" -c 'ANALYZE'
PLACEMENTS=$("${PSQL[@]}" -At -c "SELECT count(*) FROM thesis_classes WHERE scheme = 'clc'")

# ---- 4. counts of the top-level classes against a recount ----------------------------------
"${PSQL[@]}" -At -c "SELECT 'schemes/clc/classes/' || code FROM classes WHERE scheme = 'clc' \
  AND parent IS NULL ORDER BY ordinal" >"$BENCH_DIR/class-names.txt"
"${PSQL[@]}" -At -c "SELECT 'theses/' || id FROM theses ORDER BY id" >"$BENCH_DIR/thesis-names.txt"
# A recount from scratch: each thesis under the top-level letters its codes
# start with (every CLC class lies under the root its letter names; T's
# subclasses start with T, and so on).
"${PSQL[@]}" -At -F ' ' -c "SELECT r.code, count(DISTINCT t.id) FROM classes r JOIN theses t \
  ON EXISTS (SELECT 1 FROM unnest(t.classification_codes) c WHERE left(c, 1) = r.code) \
  WHERE r.scheme = 'clc' AND r.parent IS NULL GROUP BY r.code ORDER BY r.code" >"$RESULTS/recount.txt"
: >"$RESULTS/served.txt"
while read -r name; do
  "${CTL[@]}" --json classes get "$name" |
    python3 -c 'import json,sys; c=json.load(sys.stdin).get("counts",{}); print(sys.argv[1].rsplit("/",1)[1], c.get("subtree_theses", c.get("subtreeTheses","0")))' "$name" \
      >>"$RESULTS/served.txt"
done <"$BENCH_DIR/class-names.txt"
sort "$RESULTS/served.txt" | awk '$2 != 0' >"$RESULTS/served-sorted.txt"
if diff "$RESULTS/recount.txt" "$RESULTS/served-sorted.txt" >"$RESULTS/counts.diff"; then
  COUNTS_OK=yes
else
  COUNTS_OK=no
  log "warning: served top-level counts differ from the recount (see $RESULTS/counts.diff)"
fi

# ---- 5. GetThesis and GetClass --------------------------------------------------------
phase() {  # name rpc names concurrency
  log "$1: $2 with $4 in flight, ${WARMUP_S}s + ${DURATION_S}s"
  "$LOAD_BIN" --target "127.0.0.1:$PORT" --rpc "$2" --names_file "$3" --concurrency "$4" \
    --channels "$CHANNELS" --warmup_s "$WARMUP_S" --duration_s "$DURATION_S" --json \
    >"$RESULTS/$1.json" 2>"$LOGS/$1.err" || die "$1 failed: $(cat "$LOGS/$1.err")"
}
for c in $CONCURRENCY_LIST; do
  phase "get-c$c" get "$BENCH_DIR/thesis-names.txt" "$c"
  phase "class-c$c" class "$BENCH_DIR/class-names.txt" "$c"
done

# ---- 6. EXPLAIN and summary --------------------------------------------------------------
"${PSQL[@]}" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT s.generation, s.title, s.version, \
  (extract(epoch FROM s.update_time) * 1000000)::bigint, c.code, c.direct_theses, \
  c.subtree_theses, c.subtree_downloads, c.subtree_legacy FROM class_schemes s LEFT JOIN \
  class_counts c ON c.scheme = s.scheme AND c.code = ANY('{T,~unresolved,~none,~classified}'::text[]) \
  WHERE s.scheme = 'clc'" >"$RESULTS/explain.txt"

export COMMAND RECORDS LOAD_S IMPORT_S PLACEMENTS COUNTS_OK CONCURRENCY_LIST DURATION_S WARMUP_S \
  WORKERS CHANNELS BENCH_HUGE_PAGES_NOTE
GIT_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] || GIT_COMMIT+=" (with uncommitted changes)"
export GIT_COMMIT DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
export MACHINE="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))"
doc_arg=()
[ "$WRITE_DOC" = 1 ] && doc_arg=("$ROOT/docs/benchmarks.md")
python3 "$ROOT/bench/summarize_classes.py" "$RESULTS" "${doc_arg[@]}"
log "done; raw results in $RESULTS"
