#!/usr/bin/env bash
# Builds the thesis_formats fuzz targets in a separate Clang build and runs
# each one for a while, seeded with the CNKI samples from ../shared/data.
# Exits non-zero when any target crashes, leaks, hangs or trips a sanitizer.
#
# Environment:
#   FUZZ_BUILD_DIR   build directory (default build-fuzz, relative to the repo)
#   FUZZ_SECONDS     seconds per target (default 60)
#   FUZZ_TARGETS     space-separated subset of the targets (default: all)
#   FUZZ_JOBS        parallel build jobs (default 2)
#   FUZZ_SOURCE_DIR  CMake source directory (default: the repo root)
#   THESIS_DATA_DIR  shared data directory (default <repo>/../shared/data)
# The seed corpus is copied to a temporary directory, never into the repo;
# crash inputs and logs go to <build dir>/fuzz-artifacts/.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
source_dir=${FUZZ_SOURCE_DIR:-$repo}
data_dir=${THESIS_DATA_DIR:-$repo/../shared/data}
all_targets="fuzz_cnki_page fuzz_refworks fuzz_endnote fuzz_noteexpress fuzz_jsonlines fuzz_parse_file fuzz_class_tables fuzz_search_query"
read -r -a targets <<<"${FUZZ_TARGETS:-$all_targets}"

command -v clang++ >/dev/null || {
  echo "clang++ not found: apt-get install -y clang libclang-rt-14-dev" >&2
  exit 2
}

echo "== configure $build_dir (clang, THESIS_BUILD_FUZZERS=ON)"
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTHESIS_BUILD_FUZZERS=ON -DTHESIS_BUILD_TESTS=OFF \
  -DTHESIS_BUILD_BENCH=OFF >/dev/null
echo "== build ${targets[*]}"
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seeds=$work/seeds
mkdir -p "$seeds"
if [[ -d $data_dir/cnki ]]; then
  find "$data_dir/cnki" -maxdepth 1 -type f ! -name 'LICENSE*' -exec cp {} "$seeds/" \;
else
  echo "warning: $data_dir/cnki is absent; fuzzing without a seed corpus" >&2
fi
# Classification tables: the discipline catalogues and the first lines of
# the CLC in both forms (the whole files are far above -max_len).
if [[ -d $data_dir/clc ]]; then
  head -c 60000 "$data_dir/clc/clc5-tree.json" >"$seeds/clc5-tree-head.json"
  head -n 800 "$data_dir/clc/clc5.tsv" >"$seeds/clc5-head.tsv"
fi
if [[ -d $data_dir/discipline ]]; then
  find "$data_dir/discipline" -maxdepth 1 -type f -name '*.tsv' -exec cp {} "$seeds/" \;
fi
# A JSON Lines seed: the repo's sample record on one line.
if [[ -f $repo/deploy/seed/sample-thesis.json ]]; then
  tr -d '\n' <"$repo/deploy/seed/sample-thesis.json" >"$seeds/sample-thesis.jsonl"
  echo >>"$seeds/sample-thesis.jsonl"
fi

artifacts=$build_dir/fuzz-artifacts
mkdir -p "$artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=()
summary=()
for target in "${targets[@]}"; do
  binary=$(find "$build_dir" -type f -name "$target" -perm -u+x | head -n 1)
  if [[ -z $binary ]]; then
    echo "$target: binary not found under $build_dir" >&2
    failed+=("$target")
    continue
  fi
  corpus=$work/corpus-$target
  mkdir -p "$corpus"
  log=$artifacts/$target.log
  echo "== $target for ${seconds}s (log $log)"
  status=0
  "$binary" -max_len=65536 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -dict="$repo/fuzz/cnki.dict" -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$corpus" "$seeds" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  if [[ $status -ne 0 ]] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    failed+=("$target")
    summary+=("$target: FAILED (exit $status), see $log")
    grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written' "$log" | head -n 10 >&2 || true
  else
    summary+=("$target: ok, ${seconds}s, ${execs:-?} execs, ${rate:-?} exec/s")
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
