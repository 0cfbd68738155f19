#!/usr/bin/env bash
# Installs dependencies, builds everything (library tests, SSE2 kernel tests, examples, benchmarks, the C library,
# the Python module) and runs the whole test suite with ctest. --sanitize builds and runs it under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
dir=build-tests
# The Python module is built and tested against Debian's interpreter (the one with numpy and pytest), whatever
# python3 comes first on PATH.
flags=(-DCMAKE_BUILD_TYPE=Release -DXINFER_BUILD_PYTHON=ON -DPython3_EXECUTABLE=/usr/bin/python3)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-sanitize
  # -O1 -g1 (line tables): half the compile time of -O2 -g on this template-heavy code, same stack traces.
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DXINFER_SANITIZE=ON
         -DXINFER_BUILD_BENCHMARKS=OFF)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)"
