#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, fetch the real default model (a Keras
# MobileNetV2 content-safety classifier from the npm package nsfwjs@4.4.0), convert it to .xinf with its labels and
# preprocessing, classify the bundled photos, and time MobileNetV2 1.0/224 at 1 and 2 threads.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXINFER_BUILD_TESTS=OFF -DXINFER_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target xinfer_cli classify
model_dir=$(scripts/fetch_model.sh build/examples/xinfer | tail -n 1)
model=$(dirname "$model_dir")/nsfw_mobilenet_v2.xinf
echo
build/examples/xinfer classify --model "$model" --top 3 tests/data/photos/*.jpg tests/data/photos/*.png
echo
build/examples/xinfer bench --model "$model" --threads 1 --runs 100
echo
build/examples/xinfer bench --model "$model" --threads 2 --runs 100
