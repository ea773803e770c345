#!/usr/bin/env bash
# thesisctl search against the real server (in-memory storage): a Chinese
# record, an English one, two imported from JSON Lines and the seed; hits
# with their snippets (matches in 【】, HTML entities decoded), the match
# count and the facets, --json, traditional characters, a scoped phrase,
# exclusions given as the first word, paging, --skip_facets, --facet_size,
# order_by, and the exit codes of a malformed query and of bad flags,
# asserting on the output, not only the exit codes.
# Usage: search_cli_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
# The server, `ctl`, `check` and `failures`.
source "$src/tests/cli/lib.sh"
# jget FILE EXPR: a value out of a JSON document, by a Python expression on `d`.
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- the records ----
cat >"$work/gov.json" <<'EOF'
{"titleZh": "电子政务与政府治理研究", "titleEn": "E-Government and Governance", "authors": ["王伟"],
 "advisors": ["李明"], "institution": "兰州大学", "discipline": "公共管理",
 "degreeLevel": "DEGREE_LEVEL_DOCTOR", "degreeYear": 2011, "keywordsZh": ["电子政务", "政府治理"],
 "abstractZh": "本文讨论电子政务对政府治理的影响。", "classificationCodes": ["D630"], "language": "zh"}
EOF
cat >"$work/bigdata.json" <<'EOF'
{"titleEn": "Network governance of big data", "authors": ["Zhang San"], "institution": "北京大学",
 "discipline": "计算机科学与技术", "degreeLevel": "DEGREE_LEVEL_MASTER", "degreeYear": 2010,
 "keywordsEn": ["big data", "network governance"],
 "abstractEn": "Big data platforms need governance of their networks.",
 "classificationCodes": ["TP311"], "language": "en"}
EOF
cat >"$work/more.jsonl" <<'EOF'
{"titleZh": "地方政府绩效评价研究", "authors": ["赵六"], "institution": "兰州大学", "discipline": "公共管理", "degreeLevel": "DEGREE_LEVEL_MASTER", "degreeYear": 2011, "keywordsZh": ["绩效评价", "地方政府"], "classificationCodes": ["D630"], "language": "zh"}
{"titleEn": "Smart cities & <open> \"data\"", "authors": ["Li Si"], "institution": "北京大学", "discipline": "软件工程", "degreeLevel": "DEGREE_LEVEL_MASTER", "degreeYear": 2012, "classificationCodes": ["TP393"], "language": "en"}
EOF
ctl create --file "$work/gov.json" --id gov-zh >/dev/null
ctl create --file "$work/bigdata.json" --id bigdata-en >/dev/null
ctl create --file "$src/deploy/seed/sample-thesis.json" --id seed >/dev/null
check "the JSON Lines file imports" "created 2, updated 0, unchanged 0, failed 0" \
  "$(ctl import "$work/more.jsonl" 2>/dev/null | cut -d';' -f1)"
# The name the server gave the imported 地方政府 record.
local_gov=$(jget <(ctl --json search 'title:绩效评价') 'd["hits"][0]["thesis"]["name"]')

# ---- 政府: titles first, then the seed's abstract ----
ctl search 政府 >"$work/gov.txt"
cat "$work/gov.txt"
check "政府: the record's row (rank, name, year, institution, title, score)" 1 \
  "$(grep -c -E '^ +[0-9]+  theses/gov-zh +2011  兰州大学 +电子政务与政府治理研究 +6$' "$work/gov.txt")"
check "政府: its snippet on the next line, the match in 【】" "title: 电子政务与【政府】治理研究" \
  "$(grep -A1 ' theses/gov-zh ' "$work/gov.txt" | tail -1 | sed 's/^ *//')"
check "政府: the seed matches in its abstract, ranked last" "3 theses/seed" \
  "$(grep -E '^ +[0-9]+  theses/' "$work/gov.txt" | tail -1 | awk '{print $1, $2}')"
check "政府: the seed's snippet is cut from the abstract" 1 \
  "$(grep -A1 ' theses/seed ' "$work/gov.txt" | tail -1 | grep -c -E '^ +abstract: ….*【政府】.*…$')"
check "政府: the match count" "3 matches" "$(grep -E '^[0-9]+ match' "$work/gov.txt")"
check "政府: degree_year facet, most frequent first" "degree_year: 2011 (2), 2009 (1)" \
  "$(grep '^degree_year:' "$work/gov.txt")"
check "政府: degree_level facet with labels" "degree_level: 硕士 MASTER (2), 博士 DOCTOR (1)" \
  "$(grep '^degree_level:' "$work/gov.txt")"
check "政府: institution facet (label = value: printed once)" "institution: 兰州大学 (3)" \
  "$(grep '^institution:' "$work/gov.txt")"
check "政府: CLC facet with the class name" "clc_class: 政治、法律 D (3)" \
  "$(grep '^clc_class:' "$work/gov.txt")"
check "政府: one page, no next page" 0 "$(grep -c 'next page' "$work/gov.txt" || true)"

ctl --json search 政府 >"$work/gov.json"
check "--json: the hits in rank order" "$local_gov theses/gov-zh theses/seed" \
  "$(jget "$work/gov.json" '" ".join(h["thesis"]["name"] for h in d["hits"])')"
check "--json: total_size" 3 "$(jget "$work/gov.json" 'int(d["total_size"])')"
check "--json: the snippet as the server sends it" "SNIPPET_FIELD_TITLE 电子政务与<em>政府</em>治理研究" \
  "$(jget "$work/gov.json" '[h["snippet_field"] + " " + h["snippet"] for h in d["hits"] if h["thesis"]["name"] == "theses/gov-zh"][0]')"
check "--json: every facet field" \
  "FACET_FIELD_DEGREE_YEAR FACET_FIELD_DEGREE_LEVEL FACET_FIELD_INSTITUTION FACET_FIELD_DISCIPLINE FACET_FIELD_CLC_CLASS" \
  "$(jget "$work/gov.json" '" ".join(f["field"] for f in d["facets"])')"
check "--json: a facet value with its label" "DOCTOR 博士 1" \
  "$(jget "$work/gov.json" '" ".join(str(x) for v in d["facets"][1]["values"] if v["value"] == "DOCTOR" for x in (v["value"], v["label"], v["count"]))')"

# ---- traditional characters, a scoped phrase, entities ----
ctl search 電子政務 >"$work/trad.txt"
check "電子政務 finds the simplified record" 1 "$(grep -c -E '^ +1  theses/gov-zh ' "$work/trad.txt")"
check "電子政務: the simplified title marked" "title: 【电子政务】与政府治理研究" \
  "$(grep -A1 ' theses/gov-zh ' "$work/trad.txt" | tail -1 | sed 's/^ *//')"
check "電子政務: 2 matches (with the seed's abstract)" "2 matches" "$(grep -E '^[0-9]+ match' "$work/trad.txt")"

ctl search 'title:"big data"' >"$work/phrase.txt"
check 'title:"big data" finds the English record only' "theses/bigdata-en" \
  "$(grep -E '^ +[0-9]+  theses/' "$work/phrase.txt" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check 'title:"big data": the phrase marked as one' "title: Network governance of 【big data】" \
  "$(grep -A1 ' theses/bigdata-en ' "$work/phrase.txt" | tail -1 | sed 's/^ *//')"
check 'title:"big data": 1 match' "1 match" "$(grep -E '^[0-9]+ match' "$work/phrase.txt")"
check 'title:"big data": a phrase not in a title finds nothing' "0 matches" \
  "$(ctl search 'title:"network governance of their"' | grep -E '^[0-9]+ match')"

ctl search open >"$work/open.txt"
check "entities decoded: &amp; &lt; &gt; &quot;" 'title: Smart cities & <【open】> "data"' \
  "$(grep -A1 -E '^ +[0-9]+  theses/.*Smart cities' "$work/open.txt" | tail -1 | sed 's/^ *//')"
check "author: scope, no snippet line for a match in names only" "theses/gov-zh|1 match" \
  "$(ctl search author:王伟 | grep -E '^ +1  |^[0-9]+ match' | awk '/match/ {print; next} {print $2}' | paste -sd'|')"

# ---- exclusions ----
check "-政府 电子: every 电子 record has 政府" "0 matches" \
  "$(ctl search -政府 电子 | grep -E '^[0-9]+ match')"
check "政府 -电子: the 地方政府 record only" "$local_gov" \
  "$(ctl search 政府 -电子 | grep -E '^ +[0-9]+  theses/' | awk '{print $2}' | paste -sd' ')"
check "-政府 data: an exclusion as the first word is not a flag" "theses/bigdata-en $(jget <(ctl --json search 'title:smart') 'd["hits"][0]["thesis"]["name"]')" \
  "$(ctl search -政府 data | grep -E '^ +[0-9]+  theses/' | awk '{print $2}' | paste -sd' ')"
check "-- '-governance data': the query after --" "1" \
  "$(jget <(ctl --json search -- '-governance data') 'len(d["hits"])')"
check "-survey (a one-dash word that is no flag) is an exclusion" "3 matches" \
  "$(ctl search 政府 -survey | grep -E '^[0-9]+ match')"

# ---- filter, order_by, paging, facets ----
check "--filter ANDs with the query" "theses/bigdata-en" \
  "$(ctl search governance --filter 'institution = "北京大学"' | grep -E '^ +[0-9]+  theses/' | awk '{print $2}' | paste -sd' ')"
check "--order_by 'degree_year desc': newest first, ties by name desc" "theses/gov-zh $local_gov theses/seed" \
  "$(ctl search 政府 --order_by 'degree_year desc' | grep -E '^ +[0-9]+  theses/' | awk '{print $2}' | paste -sd' ')"
check "--order_by downloads adds the Downloads column" 1 \
  "$(ctl search 政府 --order_by downloads | grep -c -E '^Rank +Thesis +Year +Institution +Title +Score +Downloads$')"
ctl search 政府 --page_size 1 --facet_size 1 >"$work/page1.txt"
check "--page_size 1: one hit" 1 "$(grep -c -E '^ +[0-9]+  theses/' "$work/page1.txt")"
check "--facet_size 1: the values left out are counted" "degree_year: 2011 (2), … (2 values)" \
  "$(grep '^degree_year:' "$work/page1.txt")"
check "--page_size 1: the total is of all pages" "3 matches" "$(grep -E '^[0-9]+ match' "$work/page1.txt")"
token=$(sed -n 's/^next page: --page_token=\([^ ]*\) .*/\1/p' "$work/page1.txt")
check "--page_size 1: the next page token is printed" 1 "$([ -n "$token" ] && echo 1 || echo 0)"
names=("$(grep -E '^ +[0-9]+  theses/' "$work/page1.txt" | awk '{print $2}')")
pages=1
while [ -n "$token" ] && [ "$pages" -lt 10 ]; do
  ctl --json search 政府 --page_size 1 --skip_facets --page_token="$token" >"$work/page.json"
  names+=("$(jget "$work/page.json" '" ".join(h["thesis"]["name"] for h in d["hits"])')")
  token=$(jget "$work/page.json" 'd.get("next_page_token", "")')
  pages=$((pages + 1))
done
check "following the tokens gives every hit once, in order" "$local_gov theses/gov-zh theses/seed" \
  "${names[*]}"
check "three pages" 3 "$pages"
ctl search 政府 --skip_facets >"$work/skip.txt"
check "--skip_facets: no count, no facets" "3 shown (no total with --skip_facets)|0" \
  "$(grep -E '^[0-9]+ (shown|match)' "$work/skip.txt")|$(grep -c -E '^(degree_year|institution):' "$work/skip.txt" || true)"
check "--skip_facets --json: no facets, no total_size" "False False" \
  "$(jget <(ctl --json search 政府 --skip_facets) '"facets" in d, "total_size" in d')"

# ---- errors ----
set +e
ctl search '"unclosed' >"$work/out" 2>"$work/err"
rc=$?
set -e
check 'a malformed query exits 5 (INVALID_ARGUMENT)' 5 "$rc"
check 'a malformed query: the server message with the position' 1 \
  "$(grep -c -E '^thesisctl: INVALID_ARGUMENT: query: position 1: .*\[fields: query\]$' "$work/err")"
check 'a malformed query: nothing on stdout' 0 "$(wc -c <"$work/out")"
set +e
ctl search '电子政务 "unclosed' 2>"$work/err"
check 'the position counts characters, not bytes: exit 5' 5 $?
check 'the position counts characters, not bytes' 1 "$(grep -c 'query: position 6:' "$work/err")"
ctl --json search 'a OR' >/dev/null 2>"$work/err"
check 'a OR with --json: exit 5' 5 $?
check 'a OR with --json: the position' 1 "$(grep -c 'position 3' "$work/err")"
ctl search 2>/dev/null
check 'no query: exit 2 (usage)' 2 $?
ctl search '   ' 2>/dev/null
check 'a blank query: exit 2 (usage)' 2 $?
ctl search 政府 --page_size -1 2>"$work/err"
check '--page_size -1: exit 5' 5 $?
check '--page_size -1: the field' 1 "$(grep -c 'page_size' "$work/err")"
ctl search 政府 --order_by title 2>/dev/null
check '--order_by title: exit 5' 5 $?
ctl search 政府 --page_token=bogus 2>/dev/null
check 'a bogus page token: exit 5' 5 $?
set -e

if [ "$failures" -ne 0 ]; then echo "$failures failed"; exit 1; fi
echo "all thesisctl search checks passed"
