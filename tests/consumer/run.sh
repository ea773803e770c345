#!/usr/bin/env bash
# Installs the build in BUILD_DIR into a temporary prefix, then configures,
# builds and runs tests/consumer against it, as a separate CMake project.
# Also checks that pkg-config finds the library.
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/thesis-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --exists --print-errors thesis-client
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" -j2
"$work/build/consumer_test"
