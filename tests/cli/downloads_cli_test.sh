#!/usr/bin/env bash
# thesisctl downloads against the real server (in-memory storage): record,
# record --file with bad lines, stats, top and report, with exit codes.
# Usage: downloads_cli_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
# The server, `ctl`, `check` and `failures`.
source "$src/tests/cli/lib.sh"

ctl create --file "$src/deploy/seed/sample-thesis.json" --id seed >/dev/null
ua='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36'
check "first download counts" COUNTED "$(ctl downloads record seed --kind request --user u1 --user_agent "$ua")"
check "a second within 30 s is a double click" DOUBLE_CLICK \
  "$(ctl downloads record theses/seed --kind request --user u1 --user_agent "$ua")"
check "a crawler is a robot" ROBOT \
  "$(ctl downloads record seed --kind investigation --ip 192.0.2.7 --user_agent 'Mozilla/5.0 (compatible; Googlebot/2.1)')"
check "a retry is a duplicate" "DUPLICATE_REQUEST (first: COUNTED)" \
  "$(ctl downloads record seed --kind investigation --user u5 --user_agent "$ua" --request_id r1 >/dev/null;
     ctl downloads record seed --kind investigation --user u5 --user_agent "$ua" --request_id r1)"
set +e
ctl downloads record nope --kind request --user u1 --user_agent "$ua" 2>"$work/err"
check "an unknown thesis exits 3 (NOT_FOUND)" 3 $?
ctl downloads record seed --kind sideways --user u1 2>/dev/null
check "a bad flag exits 2" 2 $?
set -e

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
{
  printf '{"thesis":"theses/seed","kind":"REQUEST","httpStatus":200,"client":{"userId":"u7","userAgent":"%s"},"time":"%s"}\n' "$ua" "$now"
  printf '{"thesis":"theses/seed","kind":"REQUEST"}\n'
  printf 'not json\n'
  printf '{"thesis":"theses/seed","kind":"INVESTIGATION","httpStatus":404,"client":{"ip":"192.0.2.9","userAgent":"%s"}}\n' "$ua"
} >"$work/events.jsonl"
set +e
ctl --json downloads record --file "$work/events.jsonl" >"$work/summary.json" 2>"$work/err"
check "bad lines make the exit code 8" 8 $?
set -e
check "bad lines are named by file and line" 2 "$(grep -c "events.jsonl:[23]:" "$work/err")"
summary() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/summary.json" "$1"; }
check "the good line counted" 1 "$(summary COUNTED)"
check "the 404 line did not" 1 "$(summary NOT_SUCCESSFUL)"
check "two lines malformed or rejected" 2 "$(($(summary malformed) + $(summary rejected)))"

stats=$(ctl --json downloads stats seed)
check "stats: total requests" 2 "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["metrics"]["total_item_requests"])' <<<"$stats")"
check "stats: legacy count apart" 188 "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["legacy_download_count"])' <<<"$stats")"
check "top lists the seed" 1 "$(ctl downloads top --metric total_item_requests | grep -c 'theses/seed')"
month=$(date -u +%Y-%m)
check "report in COUNTER tabular form" 5 "$(ctl downloads report --begin "$month" --end "$month" --format tsv | wc -l)"

if [ "$failures" -ne 0 ]; then echo "$failures failed"; exit 1; fi
echo "all thesisctl downloads checks passed"
