#!/usr/bin/env bash
# thesisctl classes against the real server (in-memory storage): schemes,
# get before and after importing the full CLC table, resolve, tree, children,
# theses, the discipline catalogue, a file with a broken line (exit 8), and
# suggestions, asserting on the output, not only the exit codes. The parts
# that need ../shared/data say they were skipped when it is absent.
# Usage: classes_cli_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
data="$src/../shared/data"
# The server, `ctl`, `check` and `failures`.
source "$src/tests/cli/lib.sh"
# jget FILE EXPR: a value out of a JSON document, by a Python expression on `d`.
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
have_data=
if [ -d "$data/clc" ] && [ -d "$data/discipline" ]; then have_data=1; fi

# ---- schemes and the built-in tables ----
ctl classes schemes >"$work/schemes.txt"
check "schemes lists clc and discipline" 2 "$(grep -c -E '^schemes/(clc|discipline) ' "$work/schemes.txt")"
check "the built-in tables are version builtin" 2 "$(grep -c ' builtin ' "$work/schemes.txt")"
ctl --json classes schemes >"$work/schemes.json"
check "schemes --json: clc first" schemes/clc "$(jget "$work/schemes.json" 'd["schemes"][0]["name"]')"

ctl create --file "$src/deploy/seed/sample-thesis.json" --id seed >/dev/null
check "the seed counts as classified" 1 \
  "$(jget <(ctl --json classes schemes) '[s for s in d["schemes"] if s["name"]=="schemes/clc"][0]["classified_theses"]')"
set +e
ctl classes get D630 >/dev/null 2>"$work/err"
rc=$?
set -e
check "D630 is not in the built-in table: exit 3 (NOT_FOUND)" 3 "$rc"
check "the error names the class" 1 "$(grep -c 'schemes/clc/classes/D630 does not exist' "$work/err")"
ctl classes get D6 >"$work/d6.txt"
check "before the import the seed's D630 resolves to D6" "theses:     1 direct, 1 in the subtree" \
  "$(grep '^theses:' "$work/d6.txt")"

# ---- the full CLC table ----
if [ -n "$have_data" ]; then
  set +e
  ctl classes import "$data/clc/clc5.tsv" --scheme clc --version clc5 >"$work/import.txt" 2>"$work/import.err"
  check "clc5.tsv imports (exit 0)" 0 $?
  set -e
  check "clc5.tsv: every code created or already there" "45785" \
    "$(sed -n 's/^created \([0-9]*\), updated \([0-9]*\), unchanged \([0-9]*\), failed 0;.*/\1 \2 \3/p' "$work/import.txt" | awk '{print $1+$2+$3}')"
  check "the reader names the format" 1 "$(grep -c 'clc5.tsv: code/name/parent TSV, 45785 class row(s)' "$work/import.err")"
  check "damaged names are warnings with FILE:LINE" 1 \
    "$(grep -c -E '^.*/clc5\.tsv:[0-9]+: warning: Q959\.195: damaged name' "$work/import.err")"
  check "the scheme now has the version given with --version" clc5 \
    "$(jget <(ctl --json classes schemes) '[s for s in d["schemes"] if s["name"]=="schemes/clc"][0]["version"]')"

  ctl classes get D630 >"$work/d630.txt"
  check "D630 path D > D6 > D63" "path:       D 政治、法律 > D6 中国政治 > D63 国家行政管理" \
    "$(grep '^path:' "$work/d630.txt")"
  check "D630 has the seed directly" "theses:     1 direct, 1 in the subtree" "$(grep '^theses:' "$work/d630.txt")"
  check "D630 level 4" "level:      4" "$(grep '^level:' "$work/d630.txt")"
  check "legacy downloads roll up" "legacy:     188 in the subtree (下载频次 as imported)" \
    "$(grep '^legacy:' "$work/d630.txt")"
  ctl --json classes get schemes/clc/classes/D630 >"$work/d630.json"
  check "get --json: path codes" "D D6 D63" "$(jget "$work/d630.json" '" ".join(p["code"] for p in d["path"])')"
  check "get --json: subtree count 1" 1 "$(jget "$work/d630.json" 'd["counts"]["subtree_theses"]')"
  check "a code with / in it" "code:       B51/56" "$(ctl classes get B51/56 | grep '^code:')"

  ctl classes import "$data/clc/clc5.tsv" --scheme clc --version clc5 >"$work/again.txt" 2>/dev/null
  check "importing clc5.tsv again changes nothing" "created 0, updated 0, unchanged 45785, failed 0" \
    "$(cut -d';' -f1 "$work/again.txt")"
  for round in 1 2; do
    set +e
    ctl --json classes import "$data/clc/clc5-tree.json" --scheme clc --version clc5 >"$work/tree.json" 2>"$work/tree.err"
    rc=$?
    set -e
    check "clc5-tree.json ($round): the 50 duplicated nodes are rejected, exit 8" 8 "$rc"
    check "clc5-tree.json ($round): 0 created, 0 updated, 50 failed" "0 0 50" \
      "$(jget "$work/tree.json" 'd["created"], d["updated"], d["failed"]' | tr -d '(),')"
    check "clc5-tree.json ($round): duplicates named by file:line:column" 50 \
      "$(grep -c -E 'clc5-tree\.json:1:[0-9]+: rejected: .*duplicate of row' "$work/tree.err")"
  done

  ctl classes tree D6 --depth 1 >"$work/tree.txt"
  check "tree: D6 and its children, D63 indented, with its count" 1 \
    "$(grep -c -E '^  D63  国家行政管理 +1 +0 +0 +188$' "$work/tree.txt")"
  check "tree --skip_empty keeps only the seed's path" "D6 D63" \
    "$(ctl classes tree D6 --depth 3 --skip_empty | awk 'NR>1 {print $1}' | head -2 | tr '\n' ' ' | sed 's/ $//')"
  check "children of D63 lists D630 first with its count" "D630 1" \
    "$(ctl classes children D63 | awk 'NR==2 {print $1, $5}')"
  check "children --page_size 2 gives one page" 3 "$(ctl classes children D63 --page_size 2 2>/dev/null | wc -l)"
  check "theses of D lists the seed" 1 "$(ctl classes theses D --order_by degree_year | grep -c '^theses/seed ')"
else
  echo "skipped: ../shared/data absent (no clc5.tsv / clc5-tree.json import, D630 checks)"
fi

# ---- resolve ----
ctl classes resolve 'TP311.13;TP391' '[B019.13]' 'ＴＰ３１１' 'bad!' >"$work/resolve.txt"
cat "$work/resolve.txt"
ctl --json classes resolve 'TP311.13;TP391' '[B019.13]' 'ＴＰ３１１' 'bad!' >"$work/resolve.json"
check "resolve: one field per argument" 4 "$(jget "$work/resolve.json" 'len(d["fields"])')"
check "resolve: the first field splits in two" "TP311.13 TP391" \
  "$(jget "$work/resolve.json" '" ".join(c["normalized"] for c in d["fields"][0]["codes"])')"
check "resolve: full-width normalized" TP311 "$(jget "$work/resolve.json" 'd["fields"][2]["codes"][0]["normalized"]')"
check "resolve: bad! is INVALID with a problem" "INVALID 1" \
  "$(jget "$work/resolve.json" 'd["fields"][3]["codes"][0]["resolution"], len(d["fields"][3]["codes"][0]["problems"])' | tr -d "(),'")"
check "resolve table: bad! INVALID" 1 "$(grep -c -E '^bad! +BAD! +INVALID ' "$work/resolve.txt")"
if [ -n "$have_data" ]; then
  check "resolve: TP311.13 resolves to its ancestor TP311.1" "ANCESTOR TP311.1" \
    "$(jget "$work/resolve.json" 'd["fields"][0]["codes"][0]["resolution"], d["fields"][0]["codes"][0]["resolved"]["code"]' | tr -d "(),'")"
  check "resolve: TP391 EXACT" EXACT "$(jget "$work/resolve.json" 'd["fields"][0]["codes"][1]["resolution"]')"
  check "resolve: [B019.13] is an alternative class" "EXACT True" \
    "$(jget "$work/resolve.json" 'd["fields"][1]["codes"][0]["resolution"], d["fields"][1]["codes"][0].get("alternative", False)' | tr -d "(),'")"
  check "resolve table: path down to TP311.1" 1 \
    "$(grep -c 'T > TP > TP3 > TP31 > TP311 > TP311.1' "$work/resolve.txt")"
fi

# ---- discipline ----
ctl classes tree --scheme discipline --depth 1 >"$work/dtree.txt"
check "discipline tree: 01 哲学 is a root" 1 "$(grep -c -E '^01  哲学 ' "$work/dtree.txt")"
check "discipline tree: 0101 indented under it" 1 "$(grep -c -E '^  0101  哲学 ' "$work/dtree.txt")"
check "discipline tree: the seed (公共管理) counts in 12 管理学" 1 \
  "$(grep -c -E '^12  管理学 +1 ' "$work/dtree.txt")"
if [ -n "$have_data" ]; then
  set +e
  ctl classes import "$data/discipline/xueke_2022_level1_and_professional.tsv" --scheme discipline \
    --version=2022 >"$work/dimport.txt" 2>"$work/dimport.err"
  check "discipline import: exit 0" 0 $?
  set -e
  check "discipline import: 198 rows read" 1 \
    "$(grep -c 'xueke_2022_level1_and_professional.tsv: discipline TSV, 198 class row(s)' "$work/dimport.err")"
  check "discipline import: nothing failed" "failed 0" \
    "$(grep -o 'failed [0-9]*' "$work/dimport.txt")"
  check "discipline scheme version 2022" 2022 \
    "$(jget <(ctl --json classes schemes) '[s for s in d["schemes"] if s["name"]=="schemes/discipline"][0]["version"]')"
  check "discipline 1204 under 12" "path:       12 管理学" \
    "$(ctl classes get 1204 --scheme discipline | grep '^path:')"
else
  echo "skipped: ../shared/data absent (no discipline catalogue import)"
fi

# ---- a table with broken lines ----
printf 'category_code\tcategory_name\tcode\tname\tkind\r\n01\t哲学\t0101\t哲学\tacademic_level1\r\n01\t哲学\r\n02\t经济学\t\t空\tacademic_level1\r\n02\t经济学\t0201\t理论经济学\tacademic_level1\r\n' \
  >"$work/broken.tsv"
set +e
ctl classes import "$work/broken.tsv" --scheme discipline --version test >"$work/broken.txt" 2>"$work/broken.err"
rc=$?
set -e
check "broken lines: exit 8" 8 "$rc"
check "broken lines: named FILE:LINE" 2 "$(grep -c -E 'broken\.tsv:(3|4): error: ' "$work/broken.err")"
check "broken lines: the good rows still load" 1 \
  "$(grep -c -E '^created [0-9]+, updated [0-9]+, unchanged [0-9]+, failed 0; 2 malformed' "$work/broken.txt")"
set +e
ctl classes import "$work/broken.tsv" --scheme discipline 2>/dev/null
check "import without --version: exit 2" 2 $?
ctl classes import --scheme clc --version x 2>/dev/null
check "import without files: exit 2" 2 $?
ctl classes frobnicate 2>/dev/null
check "an unknown classes command: exit 2" 2 $?
ctl classes get NOPE999 2>/dev/null
check "an unknown class: exit 3" 3 $?
set -e

# ---- suggestions ----
record() {  # record ID TITLE KEYWORDS CODE DISCIPLINE
  python3 - "$work/$1.json" "$2" "$3" "$4" "$5" <<'EOF'
import json, sys
path, title, keywords, code, discipline = sys.argv[1:]
json.dump({"titleZh": title, "authors": ["测试"], "institution": "兰州大学",
           "discipline": discipline, "degreeLevel": "DEGREE_LEVEL_MASTER", "degreeYear": 2020,
           "keywordsZh": keywords.split(","), "classificationCodes": [code], "language": "zh"},
          open(path, "w"), ensure_ascii=False)
EOF
  ctl create --file "$work/$1.json" --id "$1" >/dev/null
}
record s1 "电子政务平台建设与政府信息公开研究" "电子政务,政府信息公开" D630 公共管理
record s2 "地方政府电子政务绩效评价研究" "电子政务,绩效评价,地方政府" D630 公共管理
record s3 "基于深度学习的软件缺陷预测方法" "软件缺陷,深度学习,软件工程" TP311.5 软件工程
record s4 "软件测试用例自动生成技术研究" "软件测试,测试用例,软件工程" TP311.5 软件工程
record s5 "面向微服务的软件架构设计" "软件架构,微服务" TP311 软件工程
ctl classes rebuild --scheme clc >"$work/rebuild.txt"
check "rebuild reports its training size" 1 "$(grep -c -E '^rebuilt the suggestion model of schemes/clc: 6 training theses' "$work/rebuild.txt")"
ctl --json classes suggest --scheme clc --title '政府电子政务服务研究' --keywords 电子政务,政府 --top_k 3 \
  >"$work/suggest.json"
check "suggest: politics first for an e-government title" D6 \
  "$(jget "$work/suggest.json" 'd["suggestions"][0]["class"]["code"]')"
check "suggest: trained on the classified theses" 6 "$(jget "$work/suggest.json" 'd["training_theses"]')"
check "suggest: scores descend in (0, 1]" True \
  "$(jget "$work/suggest.json" 'all(0 < s["score"] <= 1 for s in d["suggestions"]) and [s["score"] for s in d["suggestions"]] == sorted([s["score"] for s in d["suggestions"]], reverse=True)')"
ctl classes suggest --scheme clc --title '软件缺陷检测与测试方法' --keywords 软件测试,软件工程 >"$work/suggest.txt"
check "suggest table: TP (level 2) first for a software title" 1 "$(grep -c -E '^ +1  TP  ' "$work/suggest.txt")"
check "suggest table: the training size" 1 "$(grep -c 'model: trained on 6 classified theses' "$work/suggest.txt")"
check "suggest level 1: the main class" T \
  "$(jget <(ctl --json classes suggest --scheme clc --title '软件缺陷检测与测试方法' --level 1) 'd["suggestions"][0]["class"]["code"]')"
ctl --json classes suggest --scheme discipline --title '地方政府电子政务绩效' >"$work/dsuggest.json"
check "suggest discipline: 公共管理" 公共管理 "$(jget "$work/dsuggest.json" 'd["suggestions"][0]["class"]["display_name"]')"
set +e
ctl classes suggest --scheme clc 2>/dev/null
check "suggest without text: exit 2" 2 $?
set -e

if [ "$failures" -ne 0 ]; then echo "$failures failed"; exit 1; fi
echo "all thesisctl classes checks passed"
