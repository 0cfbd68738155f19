#!/usr/bin/env bash
# ONNX Runtime loads xinfer's ONNX export of an int8 model and computes the same outputs.
# An int8 MobileNetV2 is made with `xinfer quantize` (calibrated on the bundled photos), exported with
# `xinfer convert -o M.onnx` (QDQ), and run by xinfer and by onnxruntime-node on the same inputs. The weights are
# quantized to 7 bits (--weight-bits 7): ONNX Runtime's AVX2 kernels (no VNNI) sum pairs of uint8 x int8 products
# in int16 and saturate with full-range weights, so only then are both sides exact on every x86 machine.
#   ort_export_check.sh XINFER_CLI PHOTO_DIR
# Exits 77 (skipped) when onnxruntime-node cannot be installed (no node/npm and no network).
set -euo pipefail
cli=${1:?usage: ort_export_check.sh XINFER_CLI PHOTO_DIR}
photos=${2:?usage: ort_export_check.sh XINFER_CLI PHOTO_DIR}
here=$(cd "$(dirname "$0")" && pwd)
if ! modules=$("$here/../../scripts/install-ort.sh" 2>/dev/null); then
  echo "skipped: onnxruntime-node could not be installed"; exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model="builtin:mobilenet_v2?alpha=0.5&size=128&classes=16&seed=5&softmax=0"
"$cli" quantize --model "$model" --calib "$photos" --scale 1/255 --size 128x128 --resize stretch --weight-bits 7 \
  -o "$work/int8.xinf" >/dev/null 2>&1
"$cli" convert "$work/int8.xinf" -o "$work/int8.onnx" >/dev/null
status=0
for seed in 1 2 3; do
  NODE_PATH="$modules" node "$here/ort_check.js" input "$work/x$seed.npy" 1,128,128,3 "$seed"
  "$cli" run --model "$work/int8.xinf" --input "$work/x$seed.npy" --output "$work/y$seed.npy" >/dev/null
  # Exact int8 on both sides gives identical outputs up to the final fp32 rounding.
  NODE_PATH="$modules" node "$here/ort_check.js" compare "$work/int8.onnx" "$work/x$seed.npy" "$work/y$seed.npy" \
    0.99999 || status=1
done
exit $status
