# Huge pages for a benchmark's private PostgreSQL (sourced by bench/*.sh).
#
# On this project's 2-CPU VMs a backend's first touch of a shared-buffer
# page costs tens of microseconds when shared memory is mapped with 4 KB
# pages (measured: docs/benchmarks.md, "Huge pages"); a 2 GB buffer pool is
# half a million such pages for every backend. PostgreSQL maps its shared
# memory with 2 MB pages when the kernel has enough of them reserved, as its
# documentation recommends for large shared_buffers. When run as root,
# bench_reserve_huge_pages raises vm.nr_hugepages to what the pool needs and
# bench_release_huge_pages puts the old value back; PG_HUGE_PAGES is then
# "on", so PostgreSQL refuses to start rather than silently go without.
#
# BENCH_HUGE_PAGES=0 leaves the machine alone (PostgreSQL's default "try").
# Sets BENCH_HUGE_PAGES_NOTE to one line for the report.

BENCH_HUGE_PAGES_BEFORE=""
BENCH_HUGE_PAGES_NOTE="huge pages: none reserved by the script (huge_pages = try)"

# $1: shared_buffers as PostgreSQL writes it (256MB, 2GB; default 256MB).
bench_reserve_huge_pages() {
  local f=/proc/sys/vm/nr_hugepages mb=${1:-256MB}
  [ "${BENCH_HUGE_PAGES:-1}" = 0 ] && return 0
  case "$mb" in
    *GB) mb=$((${mb%GB} * 1024)) ;;
    *MB) mb=${mb%MB} ;;
    *) echo "bench: shared_buffers $mb: give it in MB or GB" >&2; return 1 ;;
  esac
  local size_kb have want
  size_kb=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
  have=$(cat "$f" 2>/dev/null || echo 0)
  # The pool plus PostgreSQL's other shared memory (about 3 % + 20 MB at
  # max_connections 200), rounded up generously.
  want=$((($mb * 1024 * 110 / 100 + 64 * 1024) / size_kb + 1))
  if [ "$have" -lt "$want" ]; then
    if ! { echo "$want" >"$f"; } 2>/dev/null || [ "$(cat "$f")" -lt "$want" ]; then
      { echo "$have" >"$f"; } 2>/dev/null || true
      BENCH_HUGE_PAGES_NOTE="huge pages: could not reserve $want (vm.nr_hugepages not writable or memory short); PostgreSQL uses 4 KB pages"
      echo "bench: $BENCH_HUGE_PAGES_NOTE" >&2
      return 0
    fi
    BENCH_HUGE_PAGES_BEFORE=$have
  fi
  export PG_HUGE_PAGES=on
  BENCH_HUGE_PAGES_NOTE="huge pages: on (vm.nr_hugepages $(cat "$f") x ${size_kb} kB for shared_buffers ${1:-256MB}; BENCH_HUGE_PAGES=0 to run without)"
}

bench_release_huge_pages() {
  if [ -n "$BENCH_HUGE_PAGES_BEFORE" ]; then
    { echo "$BENCH_HUGE_PAGES_BEFORE" >/proc/sys/vm/nr_hugepages; } 2>/dev/null || true
    BENCH_HUGE_PAGES_BEFORE=""
  fi
}
