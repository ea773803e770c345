#!/usr/bin/env bash
# SearchTheses benchmark, in one run on one machine (see the "Search"
# section of docs/benchmarks.md):
#
#   1. a new private PostgreSQL 15 in $BENCH_DIR/pg-search (shared_buffers
#      $PG_SHARED_BUFFERS, fsync off), a fresh database, thesis-server migrate;
#   2. the 1,000 real records of csl-dev-1000.jsonl and $RECORDS generated
#      ones (bench/gen_search_theses.py), loaded with COPY;
#   3. the index build: a second thesis-server migrate, which computes the
#      search columns of every row (the GIN index maintained), then VACUUM
#      ANALYZE; both timed, the sizes of the index and the table;
#   4. thesis-server;
#   5. quality: for every dev record whose first keyword is in the title or
#      a keyword of fewer than 10 records (counted in SQL), whether
#      SearchTheses of that keyword has the record on its first page of 10;
#   6. four query sets of 100 (seeded): two- and four-character Chinese
#      keywords, English words of the abstracts, two-character keywords with
#      a filter;
#   7. for each concurrency in $CONCURRENCY_LIST: GetThesis (the baseline)
#      and SearchTheses of each set (a page of 20 with facets), same server,
#      same settings; then the number of matches of every query;
#   8. the plan of the search statement for one query of each set, with
#      auto_explain (ANALYZE, BUFFERS) enabled on the database for that phase
#      only, after the timed runs; and the results section of
#      docs/benchmarks.md rewritten (WRITE_DOC=0 leaves it).
#
# Everything it starts is stopped on exit, by pid. Settings (environment):
#   BUILD_DIR=build RECORDS=200000 CONCURRENCY_LIST="1 8" DURATION_S=15
#   WARMUP_S=3 WORKERS=8 CHANNELS=4 BENCH_DIR=.bench WRITE_DOC=1
#   PG_SHARED_BUFFERS=2GB BENCH_HUGE_PAGES=1 (bench/lib_hugepages.sh)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib_hugepages.sh
. "$ROOT/bench/lib_hugepages.sh"
COMMAND=
for v in BUILD_DIR RECORDS CONCURRENCY_LIST DURATION_S WARMUP_S WORKERS CHANNELS BENCH_DIR WRITE_DOC \
  PG_SHARED_BUFFERS; do
  [ -n "${!v+x}" ] && COMMAND+="$v='${!v}' "
done
COMMAND+="bash bench/search.sh"

BUILD_DIR=${BUILD_DIR:-build}
RECORDS=${RECORDS:-200000}
CONCURRENCY_LIST=${CONCURRENCY_LIST:-1 8}
DURATION_S=${DURATION_S:-15}
WARMUP_S=${WARMUP_S:-3}
WORKERS=${WORKERS:-8}
CHANNELS=${CHANNELS:-4}
BENCH_DIR=${BENCH_DIR:-$ROOT/.bench}
WRITE_DOC=${WRITE_DOC:-1}
PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-2GB}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DATA=$ROOT/../shared/data
DEV=$DATA/csl/csl-dev-1000.jsonl
SETS="zh2 zh4 en filtered"
FILTER='degree_year >= 2015 AND degree_level = MASTER'
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
case "$BENCH_DIR" in /*) ;; *) BENCH_DIR=$ROOT/$BENCH_DIR ;; esac
LOGS=$BENCH_DIR/logs-search
RESULTS=$BENCH_DIR/results-search
mkdir -p "$LOGS" "$RESULTS"
rm -f "$RESULTS"/*

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
{ [ -f "$DEV" ] && [ -f "$DATA/clc/clc5.tsv" ]; } || die "$DATA is absent: this benchmark needs ../shared/data"

SERVER_PID=
PG_DIR=$BENCH_DIR/pg-search
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
cleanup() {
  local rc=$?
  stop_server
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
# A new cluster each run: pg-private.sh applies the settings at initdb only.
bash "$ROOT/scripts/pg-private.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
rm -rf "$PG_DIR"
log "starting private PostgreSQL in $PG_DIR (shared_buffers $PG_SHARED_BUFFERS, fsync off)"
bench_reserve_huge_pages "$PG_SHARED_BUFFERS"
admin_url=$(PG_SHARED_BUFFERS=$PG_SHARED_BUFFERS PG_FSYNC=off \
  bash "$ROOT/scripts/pg-private.sh" start "$PG_DIR" postgres | tail -1)
DB=thesis_bench_search
DB_URL=${admin_url%/postgres}/$DB
"$PGBIN/psql" "$admin_url" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB" \
  -c "CREATE DATABASE $DB" >/dev/null
PSQL=("$PGBIN/psql" "$DB_URL" -qX -v ON_ERROR_STOP=1)
"$SERVER_BIN" migrate --database_url "$DB_URL" >"$LOGS/migrate.log" 2>&1 ||
  die "migrate failed, see $LOGS/migrate.log"

# ---- 2. records ------------------------------------------------------------------------
log "loading the 1000 dev records and $RECORDS generated theses"
t0=$(date +%s.%N)
python3 "$ROOT/bench/gen_search_theses.py" "$DATA" "$RECORDS" |
  "${PSQL[@]}" -c "COPY theses ($(python3 "$ROOT/bench/gen_search_theses.py" --columns)) FROM STDIN"
LOAD_S=$(echo "$(date +%s.%N) - $t0" | bc)
THESES=$("${PSQL[@]}" -At -c 'SELECT count(*) FROM theses')

# ---- 3. index build ----------------------------------------------------------------------
log "indexing $THESES theses for search (thesis-server migrate)"
t0=$(date +%s.%N)
"$SERVER_BIN" migrate --database_url "$DB_URL" >"$LOGS/migrate-index.log" 2>&1 ||
  die "migrate (index) failed, see $LOGS/migrate-index.log"
INDEX_S=$(echo "$(date +%s.%N) - $t0" | bc)
INDEX_LOG=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    try: msg = json.loads(line).get("msg", "")
    except ValueError: continue
    if " theses for search in " in msg: print(msg)' "$LOGS/migrate-index.log" | tail -1)
[ -n "$INDEX_LOG" ] || die "migrate did not report indexing, see $LOGS/migrate-index.log"
t0=$(date +%s.%N)
"${PSQL[@]}" -c 'VACUUM ANALYZE'
VACUUM_S=$(echo "$(date +%s.%N) - $t0" | bc)
"${PSQL[@]}" -At -F ' ' -c "SELECT pg_relation_size('theses_search_doc_idx'), \
  pg_total_relation_size('theses'), pg_relation_size('theses'), \
  (SELECT sum(pg_column_size(search_doc)) FROM theses), \
  (SELECT count(*) FROM theses WHERE search_version = 0 OR search_doc IS NULL)" >"$RESULTS/sizes.txt"
read -r INDEX_BYTES TABLE_BYTES HEAP_BYTES DOC_BYTES UNINDEXED <"$RESULTS/sizes.txt"
[ "$UNINDEXED" = 0 ] || log "warning: $UNINDEXED theses left without a search document"

# ---- 4. server -----------------------------------------------------------------------------
start_server() {  # log suffix
  local out=$LOGS/server$1.out
  "$SERVER_BIN" serve --listen 127.0.0.1:0 --database_url "$DB_URL" --workers "$WORKERS" \
    --page_token_secret bench --drain_s 0 --shutdown_grace_s 5 --log_rpcs=false \
    >"$out" 2>"$LOGS/server$1.err" &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 1 300); do
    PORT=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$out")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "thesis-server exited, see $LOGS/server$1.err"
    sleep 0.1
  done
  [ -n "$PORT" ] || die "thesis-server did not report its port"
  CTL=("$CTL_BIN" --server "127.0.0.1:$PORT")
  "${CTL[@]}" health --service readiness --wait_s 30 >/dev/null || die "thesis-server not ready"
}
start_server ""

# ---- 5. quality ------------------------------------------------------------------------------
# The first keyword of each dev record, in file order, as COPY text.
python3 - "$DEV" >"$BENCH_DIR/quality-keywords.tsv" <<'PY'
import json, sys
def esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    print(f"{i}\tbench-dev-{i:04d}\t{esc(json.loads(line)['keywords'][0])}")
PY
"${PSQL[@]}" -c 'DROP TABLE IF EXISTS bench_quality_keywords' \
  -c 'CREATE TABLE bench_quality_keywords (ord int PRIMARY KEY, id text NOT NULL, kw text NOT NULL)' \
  -c 'COPY bench_quality_keywords FROM STDIN' <"$BENCH_DIR/quality-keywords.tsv"
# For every keyword, the records whose title_zh contains it or one of whose
# keywords_zh does:
#   position(kw in title_zh) > 0
#   OR EXISTS (SELECT 1 FROM unnest(keywords_zh) k WHERE position(kw in k) > 0)
# evaluated once per distinct title and distinct keyword rather than per row
# (the same set of records, 1,000 x 201,000 rows being slow), in one query.
log "counting the records of each dev keyword in SQL"
t0=$(date +%s.%N)
"${PSQL[@]}" -At -F $'\t' -c "WITH \
  titles AS (SELECT DISTINCT title_zh AS v FROM theses), \
  kws AS (SELECT DISTINCT k AS v FROM theses, unnest(keywords_zh) AS k), \
  mt AS (SELECT q.ord, t.v FROM bench_quality_keywords q JOIN titles t ON position(q.kw in t.v) > 0), \
  mk AS (SELECT q.ord, k.v FROM bench_quality_keywords q JOIN kws k ON position(q.kw in k.v) > 0), \
  hits AS (SELECT mt.ord, t.id FROM mt JOIN theses t ON t.title_zh = mt.v \
           UNION SELECT mk.ord, e.id FROM mk JOIN \
             (SELECT id, unnest(keywords_zh) AS v FROM theses) e ON e.v = mk.v) \
  SELECT q.ord, q.id, count(h.id) FROM bench_quality_keywords q LEFT JOIN hits h USING (ord) \
  GROUP BY q.ord, q.id ORDER BY q.ord" >"$RESULTS/quality-counts.tsv"
COUNT_S=$(echo "$(date +%s.%N) - $t0" | bc)
"${PSQL[@]}" -c 'DROP TABLE bench_quality_keywords'
log "searching the keywords of fewer than 10 records (page of 10, no facets)"
python3 - "$DEV" "$RESULTS/quality-counts.tsv" "$RESULTS/quality.json" "$CTL_BIN" "127.0.0.1:$PORT" \
  "$COUNT_S" <<'PY'
import concurrent.futures, json, re, subprocess, sys
dev, counts_path, out_path, ctl, server, count_s = sys.argv[1:]
keywords = [json.loads(l)["keywords"][0] for l in open(dev, encoding="utf-8")]
counts = {}
for line in open(counts_path, encoding="utf-8"):
    ord_, rid, n = line.rstrip("\n").split("\t")
    counts[int(ord_)] = (rid, int(n))
assert len(counts) == len(keywords), "a count per keyword"
# What the query language reads as more than a word: whitespace (several
# words), quotes, a leading `-`, a colon (after a scope word), a standalone OR.
SPECIAL = re.compile(r'[\s"＂“”:：]|^[-－]|(^|\s)(OR|ＯＲ)(\s|$)')
QUOTES = re.compile(r'["＂“”]')

def query_of(kw):
    if not SPECIAL.search(kw):
        return kw, False
    # A phrase cannot hold a quote: a quote separates tokens as a space does.
    return '"' + " ".join(QUOTES.sub(" ", kw).split()) + '"', True

def search(query, size):
    p = subprocess.run([ctl, "--server", server, "--json", "search", "--page_size", str(size),
                        "--skip_facets", "--", query], capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return [h["thesis"]["name"] for h in json.loads(p.stdout).get("hits", [])], None

def check(i):  # None when found, else the miss
    rid, n = counts[i]
    query = query_of(keywords[i])[0]
    want = "theses/" + rid
    hits, err = search(query, 10)
    if err is not None:
        return {"id": rid, "keyword": keywords[i], "query": query, "count": n, "rank": "error",
                "error": err}
    if want in hits:
        return None
    hits100, _ = search(query, 100)
    rank = hits100.index(want) + 1 if hits100 and want in hits100 else "not found"
    return {"id": rid, "keyword": keywords[i], "query": query, "count": n, "rank": rank,
            "first_page": hits[:3]}

eligible_ids = [i for i in range(len(keywords)) if counts[i][1] < 10]
quoted_examples = [{"keyword": keywords[i], "query": query_of(keywords[i])[0]}
                   for i in eligible_ids if query_of(keywords[i])[1]]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    misses = [m for m in pool.map(check, eligible_ids) if m is not None]
eligible, quoted = len(eligible_ids), len(quoted_examples)
found = eligible - len(misses)
errors = [m for m in misses if m["rank"] == "error"]
result = {
    "keywords": len(keywords), "eligible": eligible, "found": found,
    "percent": 100.0 * found / eligible if eligible else 0.0, "target_percent": 95,
    "quoted": quoted, "quoted_examples": quoted_examples, "misses": misses, "errors": errors,
    "count_sql_s": float(count_s),
}
json.dump(result, open(out_path, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print(f"quality: {found}/{eligible} = {result['percent']:.1f} % ({quoted} quoted, "
      f"{len(errors)} errors)", file=sys.stderr)
PY
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["errors"]))' \
  "$RESULTS/quality.json")" = 0 ] || log "warning: some quality searches failed (see $RESULTS/quality.json)"

# ---- 6. query sets -----------------------------------------------------------------------------
"${PSQL[@]}" -At -c "SELECT 'theses/' || id FROM theses ORDER BY id" >"$BENCH_DIR/search-thesis-names.txt"
python3 - "$DEV" "$BENCH_DIR" "$FILTER" <<'PY'
import json, random, re, sys
dev, out, filt = sys.argv[1:]
papers = [json.loads(l) for l in open(dev, encoding="utf-8")]
han = r"[\u3400-\u4dbf\u4e00-\u9fff]"
kws = sorted({k for p in papers for k in p["keywords"]})
zh2 = [k for k in kws if re.fullmatch(han + "{2}", k)]
zh4 = [k for k in kws if re.fullmatch(han + "{4}", k)]
# ASCII word boundaries: a Han character next to a Latin word does not join it.
en = sorted({w for p in papers for w in re.findall(r"\b[A-Za-z][a-z]{3,}\b", p["abstract"], re.A)})
rng = random.Random(6)
sets = {
    "zh2": rng.sample(zh2, min(100, len(zh2))),
    "zh4": rng.sample(zh4, min(100, len(zh4))),
    "en": rng.sample(en, min(100, len(en))),
    "filtered": [k + "\t" + filt for k in rng.sample(zh2, min(100, len(zh2)))],
}
for name, lines in sets.items():
    with open(f"{out}/search-{name}.txt", "w", encoding="utf-8") as f:
        f.write("".join(l + "\n" for l in lines))
json.dump({"zh2": len(zh2), "zh4": len(zh4), "en": len(en)},
          open(f"{out}/search-pools.json", "w"))
PY
cp "$BENCH_DIR/search-pools.json" "$RESULTS/pools.json"
for s in $SETS; do cp "$BENCH_DIR/search-$s.txt" "$RESULTS/queries-$s.txt"; done

# ---- 7. GetThesis and SearchTheses -----------------------------------------------------------
phase() {  # name rpc names concurrency
  log "$1: $2 with $4 in flight, ${WARMUP_S}s + ${DURATION_S}s"
  "$LOAD_BIN" --target "127.0.0.1:$PORT" --rpc "$2" --names_file "$3" --concurrency "$4" \
    --channels "$CHANNELS" --warmup_s "$WARMUP_S" --duration_s "$DURATION_S" --json \
    >"$RESULTS/$1.json" 2>"$LOGS/$1.err" || die "$1 failed: $(cat "$LOGS/$1.err") $(cat "$RESULTS/$1.json")"
}
for c in $CONCURRENCY_LIST; do
  phase "get-c$c" get "$BENCH_DIR/search-thesis-names.txt" "$c"
  for s in $SETS; do
    phase "search-$s-c$c" search "$BENCH_DIR/search-$s.txt" "$c"
  done
done

# How many records each query matches (total_size), after the timed runs.
python3 - "$CTL_BIN" "127.0.0.1:$PORT" "$BENCH_DIR" "$RESULTS" "$SETS" <<'PY'
import concurrent.futures, json, subprocess, sys
ctl, server, bench, results, sets = sys.argv[1:]
def total(line):
    query, _, filt = line.rstrip("\n").partition("\t")
    p = subprocess.run([ctl, "--server", server, "--json", "search", "--page_size", "1",
                        "--filter", filt, "--", query], capture_output=True, text=True, check=True)
    return int(json.loads(p.stdout).get("total_size", 0))
with concurrent.futures.ThreadPoolExecutor(2) as pool:
    for s in sets.split():
        lines = open(f"{bench}/search-{s}.txt", encoding="utf-8").readlines()
        json.dump(list(pool.map(total, lines)), open(f"{results}/matches-{s}.json", "w"))
PY

# ---- 8. plans (auto_explain) and summary ------------------------------------------------------
log "plans of the search statement (auto_explain on $DB for this phase only)"
stop_server
"${PSQL[@]}" -c "ALTER DATABASE $DB SET session_preload_libraries = 'auto_explain'" \
  -c "ALTER DATABASE $DB SET auto_explain.log_min_duration = 0" \
  -c "ALTER DATABASE $DB SET auto_explain.log_analyze = on" \
  -c "ALTER DATABASE $DB SET auto_explain.log_buffers = on" \
  -c "ALTER DATABASE $DB SET auto_explain.log_nested_statements = off"
start_server "-explain"
PG_LOG=$PG_DIR/server.log
for s in $SETS; do
  line=$(head -1 "$BENCH_DIR/search-$s.txt")
  query=${line%%$'\t'*}
  filter=
  [ "$query" = "$line" ] || filter=${line#*$'\t'}
  offset=$(stat -c %s "$PG_LOG")
  "${CTL[@]}" --json search --page_size 20 --filter "$filter" -- "$query" >"$RESULTS/explain-$s.response.json" ||
    die "search $query failed"
  sleep 0.5
  printf '%s\t%s\n' "$query" "$filter" >"$RESULTS/explain-$s.query"
  tail -c +"$((offset + 1))" "$PG_LOG" >"$LOGS/explain-$s.log"
  # The entry whose query text is the search statement: its `plan:` line and
  # the tab-indented lines after it.
  python3 - "$LOGS/explain-$s.log" >"$RESULTS/explain-$s.txt" <<'PY'
import sys
entries, cur = [], None
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if line.startswith("\t") and cur is not None:
        cur.append(line[1:].rstrip("\n"))
        continue
    cur = None
    if "plan:" in line:
        cur = [line.rstrip("\n")]
        entries.append(cur)
plans = [e for e in entries if any("search_doc @@" in l for l in e)]
if not plans:
    sys.exit("no plan of the search statement in the log")
print("\n".join(plans[-1]))
PY
done
stop_server
"${PSQL[@]}" -c "ALTER DATABASE $DB RESET session_preload_libraries" \
  -c "ALTER DATABASE $DB RESET auto_explain.log_min_duration" \
  -c "ALTER DATABASE $DB RESET auto_explain.log_analyze" \
  -c "ALTER DATABASE $DB RESET auto_explain.log_buffers" \
  -c "ALTER DATABASE $DB RESET auto_explain.log_nested_statements"

export COMMAND RECORDS THESES LOAD_S INDEX_S INDEX_LOG VACUUM_S INDEX_BYTES TABLE_BYTES HEAP_BYTES \
  DOC_BYTES UNINDEXED BENCH_HUGE_PAGES_NOTE CONCURRENCY_LIST DURATION_S WARMUP_S WORKERS CHANNELS PG_SHARED_BUFFERS SETS \
  FILTER
GIT_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] || GIT_COMMIT+=" (with uncommitted changes)"
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
MACHINE="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))"
export GIT_COMMIT DATE MACHINE
doc_arg=()
[ "$WRITE_DOC" = 1 ] && doc_arg=("$ROOT/docs/benchmarks.md")
python3 "$ROOT/bench/summarize_search.py" "$RESULTS" "${doc_arg[@]}"
log "done; raw results in $RESULTS"
