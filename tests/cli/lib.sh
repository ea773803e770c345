# Sourced by the thesisctl tests after they set `build` and `src`: starts the
# real thesis-server on in-memory storage (127.0.0.1, a free port), stopped
# by its pid on exit together with the scratch directory `work`, and defines
# `ctl` (thesisctl against it), `check LABEL WANT GOT` and the `failures`
# count the test ends with.
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null && wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$build/server/thesis-server" --storage memory --listen 127.0.0.1:0 >"$work/server.out" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$work/server.out")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: server did not start"; cat "$work/server.out"; exit 1; }
ctl() { "$build/client/thesisctl" --server "127.0.0.1:$port" "$@"; }
failures=0
check() {  # check LABEL WANT GOT
  if [ "$2" == "$3" ]; then echo "ok: $1"; else
    echo "FAIL: $1: want [$2], got [$3]"; failures=$((failures + 1)); fi
}
