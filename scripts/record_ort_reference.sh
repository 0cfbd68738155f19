#!/usr/bin/env bash
# Records ONNX Runtime reference outputs once (they are committed under tests/data/golden/; the runtime is not).
# Installs onnxruntime-node from the npm registry into a cache folder (its install script, which only fetches
# optional GPU libraries from outside the registry, is skipped: the CPU runtime ships in the package).
#   scripts/record_ort_reference.sh MODEL.onnx OUT.bin [COUNT]
set -euo pipefail
model=${1:?usage: record_ort_reference.sh MODEL.onnx OUT.bin [COUNT]}
out=${2:?usage: record_ort_reference.sh MODEL.onnx OUT.bin [COUNT]}
count=${3:-3}
cache=${XINFER_CACHE:-$HOME/.cache/xinfer}/onnxruntime-node
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq nodejs npm
fi
if [ ! -d "$cache/node_modules/onnxruntime-node" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null)
fi
NODE_PATH="$cache/node_modules" node "$(dirname "$0")/ort_reference.js" "$model" "$out" "$count"
