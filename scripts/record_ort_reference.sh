#!/usr/bin/env bash
# Records ONNX Runtime reference outputs once (they are committed under tests/data/golden/; the runtime is not).
# onnxruntime-node comes from the npm registry into a cache folder (scripts/install-ort.sh).
#   scripts/record_ort_reference.sh MODEL.onnx OUT.bin [COUNT]
set -euo pipefail
model=${1:?usage: record_ort_reference.sh MODEL.onnx OUT.bin [COUNT]}
out=${2:?usage: record_ort_reference.sh MODEL.onnx OUT.bin [COUNT]}
count=${3:-3}
NODE_PATH="$("$(dirname "$0")/install-ort.sh")" node "$(dirname "$0")/ort_reference.js" "$model" "$out" "$count"
