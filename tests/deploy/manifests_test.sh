#!/usr/bin/env bash
# Checks the Kubernetes manifests (deploy/k8s) and the image (deploy/docker)
# without a cluster or a container engine:
#  1. `kubectl kustomize` renders every overlay (dev and prod at least) and
#     every test variant in tests/deploy/variants (prod-tls: prod with the
#     optional TLS component);
#  2. validate.mjs validates every rendered object against the Kubernetes
#     schemas (npm package kubernetes-models, pinned by package-lock.json)
#     and checks them against the server (health service names and port,
#     THESIS_* variables of server/main.cc), the image and each other
#     (same image in Deployment and Job, shutdown timing, connection budget),
#     and the files it reads from Secrets (API keys, TLS) and ConfigMaps;
#  3. dockerfile.mjs checks the Dockerfile statically: Debian 12 build and
#     slim runtime stages, non-root USER, exec-form ENTRYPOINT, and that every
#     shared library of BUILD_DIR/server/thesis-server (ldd, dpkg -S) is
#     installed in the runtime stage (skipped, with a note, without a build).
#
#   bash tests/deploy/manifests_test.sh [BUILD_DIR]     (default: build)
#
# Needs kubectl (with kustomize) and node >= 18 with npm; installs the
# pinned packages into tests/deploy/node_modules with `npm ci` when they are
# missing or older than package-lock.json (this needs the npm registry once).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
fail() { echo "FAIL: $*" >&2; exit 1; }
start=$(date +%s)

command -v kubectl >/dev/null 2>&1 ||
  fail "kubectl is not installed: it renders the kustomize overlays (https://kubernetes.io/docs/tasks/tools/)"
command -v node >/dev/null 2>&1 || fail "node is not installed: it runs the schema validation (node >= 18 and npm)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed: it installs kubernetes-models (node >= 18 and npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || fail "node $(node --version) is too old: need node >= 18"

# The pinned validator packages.
stamp=$here/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
  echo "npm ci in tests/deploy (kubernetes-models, yaml; pinned by package-lock.json)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
    fail "npm ci failed in $here: the npm registry must be reachable once to install the pinned packages"
fi

work=$(mktemp -d /tmp/thesis-manifests.XXXXXX)
trap 'rm -rf "$work"' EXIT

overlays=()
for dir in "$root"/deploy/k8s/overlays/*/; do
  name=$(basename "$dir")
  kubectl kustomize "$dir" >"$work/$name.yaml" 2>"$work/$name.err" ||
    fail "kubectl kustomize deploy/k8s/overlays/$name: $(cat "$work/$name.err")"
  overlays+=("$name=$work/$name.yaml")
  echo "rendered deploy/k8s/overlays/$name: $(grep -c '^kind:' "$work/$name.yaml") objects"
done
# Test-only variants: an overlay plus an optional component (prod-tls: the
# prod overlay with deploy/k8s/components/tls).
for dir in "$here"/variants/*/; do
  [ -f "$dir/kustomization.yaml" ] || continue
  name=$(basename "$dir")
  kubectl kustomize "$dir" >"$work/$name.yaml" 2>"$work/$name.err" ||
    fail "kubectl kustomize tests/deploy/variants/$name: $(cat "$work/$name.err")"
  overlays+=("$name=$work/$name.yaml")
  echo "rendered tests/deploy/variants/$name: $(grep -c '^kind:' "$work/$name.yaml") objects"
done
for required in dev prod prod-tls; do
  [ -f "$work/$required.yaml" ] || fail "overlay or variant $required is missing (deploy/k8s/overlays, tests/deploy/variants)"
done

node "$here/validate.mjs" --root "$root" "${overlays[@]}"
node "$here/dockerfile.mjs" --root "$root" --binary "$build/server/thesis-server"
echo "deploy manifests: OK in $(($(date +%s) - start)) s"
