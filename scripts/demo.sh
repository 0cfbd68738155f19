#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and benchmark MobileNetV2 1.0/224
# (batch 1) at 1 and 2 threads with xinfer's CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXINFER_BUILD_TESTS=OFF -DXINFER_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target xinfer_cli classify
model='builtin:mobilenet_v2?alpha=1.0&size=224'
build/examples/xinfer inspect --model "$model" | tail -n 3
for threads in 1 2; do
  echo
  build/examples/xinfer bench --model "$model" --threads "$threads" --runs 100
done
