#!/usr/bin/env bash
# Import benchmark: RECORDS generated records through `thesisctl import`
# (parse JSON Lines, stream over gRPC, batched upsert in PostgreSQL) against
# `psql \copy` of the same rows as CSV into the same table, in one run on one
# database. Then the same import again, which must change nothing.
#
# Two baselines: (a) the generator's CSV, which has the record's fields only,
# and (b) the rows as the import stored them, exported with \copy TO after
# the imports: every column, the search index columns included, which the
# import has to compute and (a) leaves empty. Both are reported.
#
#   RECORDS=100000 BUILD_DIR=build bash bench/import.sh
#
# Uses THESIS_DATABASE_URL when set (its `theses` table is emptied!), else a
# private PostgreSQL under .bench/import-pg, stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RECORDS=${RECORDS:-100000}
BUILD_DIR=${BUILD_DIR:-build}
WORK=$ROOT/.bench/import
mkdir -p "$WORK"

cmake --build "$BUILD_DIR" -j2 --target thesis-server thesisctl >/dev/null

started_pg=""
if [ -z "${THESIS_DATABASE_URL:-}" ]; then
  THESIS_DATABASE_URL=$(bash scripts/pg-private.sh start "$WORK/pg" thesis_bench)
  started_pg=1
fi
export THESIS_DATABASE_URL
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$started_pg" ] && bash scripts/pg-private.sh stop "$WORK/pg"
  rm -f "$WORK/records.jsonl" "$WORK/records.csv" "$WORK/stored.csv"
}
trap cleanup EXIT

"$BUILD_DIR/server/thesis-server" migrate >/dev/null
python3 bench/gen_import_data.py "$RECORDS" "$WORK/records.jsonl" "$WORK/records.csv"
psql() { command psql "$THESIS_DATABASE_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }
now() { date +%s.%N; }

# Baseline (a): COPY of the generator's rows.
psql -c "TRUNCATE theses, request_log"
t0=$(now)
psql -c "\\copy theses (id, import_key, title_zh, title_en, authors, advisors, institution, discipline, degree_level, degree_year, abstract_zh, abstract_en, keywords_zh, keywords_en, online_contributor, online_year, online_issue, classification_codes, source_database, source_record_id, source_url, language, legacy_download_count, create_time, update_time, revision) FROM '$WORK/records.csv' WITH (FORMAT csv, FORCE_NOT_NULL (abstract_en, online_contributor, online_issue, source_url))"
t1=$(now)
copy_s=$(echo "$t1 - $t0" | bc -l)
psql -c "TRUNCATE theses, request_log"
psql -c "VACUUM ANALYZE theses" 2>/dev/null || true

"$BUILD_DIR/server/thesis-server" --listen 127.0.0.1:0 --workers 4 >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on port" "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/listening on port //p' "$WORK/server.out")
CTL=("$BUILD_DIR/client/thesisctl" --server "127.0.0.1:$PORT" --progress=false --json)
"${CTL[@]}" health --wait_s 20 >/dev/null

t0=$(now)
first=$(/usr/bin/time -f "%U %S" -o "$WORK/ctl.time" "${CTL[@]}" import "$WORK/records.jsonl" 2>/dev/null)
t1=$(now)
import_s=$(echo "$t1 - $t0" | bc -l)
t0=$(now)
second=$("${CTL[@]}" import "$WORK/records.jsonl" 2>/dev/null)
t1=$(now)
reimport_s=$(echo "$t1 - $t0" | bc -l)
rows=$(psql -c "SELECT count(*) FROM theses")
read -r ctl_user ctl_sys <"$WORK/ctl.time"
server_cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$SERVER_PID/stat")

# Baseline (b): COPY of the rows as stored, into the emptied table.
psql -c "\\copy theses TO '$WORK/stored.csv' WITH (FORMAT csv)"
stored_rows=$(psql -c "SELECT count(*) FROM theses")
psql -c "TRUNCATE theses, request_log"
t0=$(now)
psql -c "\\copy theses FROM '$WORK/stored.csv' WITH (FORMAT csv)"
t1=$(now)
stored_copy_s=$(echo "$t1 - $t0" | bc -l)

copy_rate=$(echo "$RECORDS / $copy_s" | bc -l)
stored_copy_rate=$(echo "$stored_rows / $stored_copy_s" | bc -l)
import_rate=$(echo "$RECORDS / $import_s" | bc -l)
reimport_rate=$(echo "$RECORDS / $reimport_s" | bc -l)
printf 'records            %d\n' "$RECORDS"
printf 'psql \\copy (a)     %.2f s  %8.0f rows/s   generator CSV, record fields only\n' "$copy_s" "$copy_rate"
printf 'psql \\copy (b)     %.2f s  %8.0f rows/s   the stored rows, search columns included\n' "$stored_copy_s" "$stored_copy_rate"
printf 'thesisctl import   %.2f s  %8.0f rows/s   %s\n' "$import_s" "$import_rate" "$first"
printf 'same import again  %.2f s  %8.0f rows/s   %s\n' "$reimport_s" "$reimport_rate" "$second"
printf 'rows in theses     %s\n' "$rows"
printf 'thesisctl CPU      %.1f s user + %.1f s sys (first import); thesis-server CPU %.1f s (both imports)\n' "$ctl_user" "$ctl_sys" "$server_cpu"
printf 'ratio import/(a)   %.2f (target >= 0.5)\n' "$(echo "$import_rate / $copy_rate" | bc -l)"
printf 'ratio import/(b)   %.2f (target >= 0.5)\n' "$(echo "$import_rate / $stored_copy_rate" | bc -l)"
