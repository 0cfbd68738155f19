#!/usr/bin/env bash
# Installs xinfer from SOURCE_DIR into a temporary prefix, then configures, builds and runs the consumer project
# against it with find_package(xinfer).
set -euo pipefail
src=${1:?usage: run.sh SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S "$src" -B "$work/xinfer" -DXINFER_BUILD_TESTS=OFF -DXINFER_BUILD_BENCHMARKS=OFF -DXINFER_BUILD_EXAMPLES=OFF >/dev/null
cmake --install "$work/xinfer" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/cmake_import" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
