#!/usr/bin/env bash
# Compares xinfer's ONNX parser with the onnx Python package (libprotobuf) on Debian's ONNX test models (node/,
# simple/, real/, pytorch-*/), the tensors of their test data sets, and the shared models: both dump every file
# (onnx_dump.cpp, onnx_dump.py) and the dumps must be identical. Skips (exit 0) when python3-onnx, numpy or
# libonnx-testdata is missing. ONNX_TESTDATA overrides the test data directory.
# Usage: onnx_crosscheck.sh path/to/onnx_dump
set -euo pipefail
dump=${1:?usage: onnx_crosscheck.sh path/to/onnx_dump}
here=$(cd "$(dirname "$0")" && pwd)
testdata=${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
shared=$here/../../../shared/data/models

python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import onnx, numpy' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then echo "skipped: python3-onnx not installed"; exit 0; fi
if [ ! -d "$testdata" ]; then echo "skipped: libonnx-testdata not installed ($testdata missing)"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
find "$testdata" -name model.onnx | sort > "$work/models"
if [ -d "$shared" ]; then find "$shared" -maxdepth 1 -name '*.onnx' | sort >> "$work/models"; fi
tr '\n' '\0' < "$work/models" | xargs -0 "$python" "$here/onnx_dump.py" --pbs > "$work/pbs"
cat "$work/models" "$work/pbs" > "$work/files"

tr '\n' '\0' < "$work/files" | xargs -0 "$dump" > "$work/xinfer.txt" 2> "$work/xinfer.err"
tr '\n' '\0' < "$work/files" | xargs -0 "$python" "$here/onnx_dump.py" > "$work/onnx.txt" 2> "$work/onnx.err"

# Split both dumps at the "#### <file>" lines and compare file by file.
split_dump() {
  mkdir -p "$2"
  awk -v dir="$2" '/^#### / { n++; out = sprintf("%s/%06d", dir, n) } { print > out }' "$1"
}
split_dump "$work/xinfer.txt" "$work/x"
split_dump "$work/onnx.txt" "$work/o"
files=$(wc -l < "$work/files")
[ "$(ls "$work/x" | wc -l)" -eq "$files" ] && [ "$(ls "$work/o" | wc -l)" -eq "$files" ] ||
  { echo "error: a dumper stopped early"; tail -5 "$work/xinfer.err" "$work/onnx.err"; exit 1; }

differences=0
errors=0
for x in "$work"/x/*; do
  o=$work/o/$(basename "$x")
  grep -qx error "$x" && errors=$((errors + 1))
  if ! cmp -s "$x" "$o"; then
    differences=$((differences + 1))
    if [ "$differences" -le 10 ]; then
      echo "--- difference in $(head -1 "$x" | cut -c6-) (xinfer <, onnx >)"
      diff "$x" "$o" | head -20 || true
    fi
  fi
done
models=$(wc -l < "$work/models")
echo "$files files compared ($models models, $((files - models)) tensors), $differences differences" \
     "($errors files unparsable by xinfer)"
[ "$differences" -eq 0 ]
