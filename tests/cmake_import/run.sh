#!/usr/bin/env bash
# Installs xinfer from SOURCE_DIR into a temporary prefix right after configuring (nothing built: the headers and
# package files install, the programs are skipped), then configures, builds and runs the consumer project
# against it with find_package(xinfer).
set -euo pipefail
src=${1:?usage: run.sh SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S "$src" -B "$work/xinfer" -DXINFER_BUILD_TESTS=OFF -DXINFER_BUILD_BENCHMARKS=OFF >/dev/null
cmake --install "$work/xinfer" --prefix "$work/prefix" >/dev/null
for f in include/xinfer/xinfer.hpp share/cmake/xinfer/xinferConfig.cmake share/cmake/xinfer/XinferSimd.cmake; do
  [ -f "$work/prefix/$f" ] || { echo "install after configure: $f missing" >&2; exit 1; }
done
for f in bin/xinfer bin/classify; do  # install(TARGETS ... OPTIONAL) skips them (and leaves bin/ empty)
  [ ! -e "$work/prefix/$f" ] || { echo "install after configure: unbuilt $f installed" >&2; exit 1; }
done
cmake -S "$src/tests/cmake_import" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
