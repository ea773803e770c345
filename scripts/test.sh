#!/usr/bin/env bash
# Installs what is missing, builds, starts a throwaway PostgreSQL and runs
# every test. Works on a fresh Debian 12 machine as root (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${BUILD_DIR:-build}

bash scripts/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"

# Every format reader under libFuzzer with ASan and UBSan, FUZZ_SECONDS each
# (60 by default; SKIP_FUZZ=1 skips, for quick local runs).
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-60} bash fuzz/run.sh
fi

# A throwaway cluster: fsync off, it holds nothing worth keeping.
pgdir=$root/.pg-test
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$root"; then
  pgdir=$(mktemp -d /tmp/thesis-pg-test.XXXXXX)  # postgres cannot reach the project directory
fi
cleanup() { bash "$root/scripts/pg-private.sh" stop "$pgdir" || true; rm -rf "$pgdir"; }
trap cleanup EXIT
bash scripts/pg-private.sh stop "$pgdir" 2>/dev/null || true
rm -rf "$pgdir"
export THESIS_TEST_DATABASE_URL=$(PG_FSYNC=off bash scripts/pg-private.sh start "$pgdir" thesis_test)
echo "test database: $THESIS_TEST_DATABASE_URL"

if [ ! -d ../shared/data ]; then
  echo "NOTE: ../shared/data is absent: tests that read it will say they were skipped"
fi
(cd "$build" && ctest --output-on-failure -j"$(nproc)" --timeout 600)

