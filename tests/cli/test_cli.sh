#!/usr/bin/env bash
# End-to-end checks of the xinfer CLI forms that scripts depend on: run (npy in/out), bench --json, inspect,
# classify, quantize / validate / ONNX export, clear errors for bad input, and the command-line parsing (--help,
# unknown options, missing values, bad numbers: exit status 2).
set -euo pipefail
xinfer=${1:?usage: test_cli.sh path/to/xinfer IMAGE}
image=${2:?usage: test_cli.sh path/to/xinfer IMAGE}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model='builtin:mobilenet_v2?alpha=0.35&size=64&classes=7&seed=5'
fail() { echo "FAIL: $*"; exit 1; }

# run: a float32 [2,64,64,3] .npy in, a [2,7] probability .npy out.
python3 - "$work/x.npy" <<'PY'
import struct, sys, random
random.seed(1)
shape = (2, 64, 64, 3)
n = 2 * 64 * 64 * 3
header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (shape,)
header += " " * (63 - (10 + len(header)) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%df" % n, *[random.random() for _ in range(n)]))
PY
"$xinfer" run --model "$model" --input "$work/x.npy" --output "$work/y.npy" --threads 2
python3 - "$work/y.npy" <<'PY'
import ast, struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:6] == b"\x93NUMPY", "not an npy file"
hlen = struct.unpack("<H", data[8:10])[0]
header = ast.literal_eval(data[10:10 + hlen].decode())
assert header["shape"] == (2, 7), header
values = struct.unpack("<14f", data[10 + hlen:10 + hlen + 56])
for row in (values[:7], values[7:]):
    assert abs(sum(row) - 1) < 1e-4 and min(row) >= 0, row
assert values[:7] != values[7:], "both images gave the same output"
PY

# bench --json: one JSON object with the documented keys.
"$xinfer" bench --model "$model" --threads 1 --runs 5 --json > "$work/bench.json"
python3 - "$work/bench.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for key in ("median_ms", "p90_ms", "min_ms", "cold_ms", "load_ms", "peak_rss_mb", "threads"):
    assert key in r, key
assert r["threads"] == 1 and r["min_ms"] <= r["median_ms"] <= r["p90_ms"]
PY

"$xinfer" inspect --model "$model" | grep -q "activation arena" || fail "inspect"
"$xinfer" profile --model "$model" --runs 3 -o "$work/trace.json" | grep -q "sum of op medians" || fail "profile"
python3 -c "import json, sys; e = json.load(open(sys.argv[1]))['traceEvents']; assert e and all(x['ph'] == 'X' for x in e)" "$work/trace.json"
"$xinfer" classify --model "$model" --top 3 "$image" | grep -c "class " | grep -qx 3 || fail "classify top 3"

# quantize (calibrating on the photos beside IMAGE), validate --json, and int8 models through the other commands.
photos=$(dirname "$image")
pre=(--scale 1/255 --size 64x64 --resize stretch)
"$xinfer" quantize --model "$model" --calib "$photos" "${pre[@]}" --method percentile -o "$work/q.xinf" 2>/dev/null |
  grep -q "int8 layers" || fail "quantize"
"$xinfer" validate --model "$model" --quantized "$work/q.xinf" --images "$photos" "${pre[@]}" --json > "$work/v.json"
python3 - "$work/v.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for key in ("images", "top1_agreement", "mean_abs_dp", "max_abs_dp", "fp32_bytes", "int8_bytes", "layers"):
    assert key in r, key
assert r["images"] >= 1 and 0 <= r["top1_agreement"] <= 1 and len(r["layers"]) > 50
assert all("sqnr_db" in l and "cosine" in l and "saturation" in l for l in r["layers"])
PY
"$xinfer" validate --model "$model" --quantized "$work/q.xinf" --images "$image" "${pre[@]}" | grep -q "top-1 agreement" ||
  fail "validate table"
"$xinfer" classify --model "$work/q.xinf" "${pre[@]}" --top 2 "$image" | grep -c "class " | grep -qx 2 || fail "int8 classify"
"$xinfer" bench --model "$work/q.xinf" --runs 3 --json | grep -q median_ms || fail "int8 bench"
# The profile counts an int8 output at one byte per element: the dequantized logits take 4x the QDense output.
"$xinfer" profile --model "$work/q.xinf" --runs 2 -o "$work/q_trace.json" |
  awk '/QDense/ {q = $NF} /Dequantize/ {d = $NF} END {exit !(q > 0 && d == 4 * q)}' || fail "int8 profile bytes"
"$xinfer" inspect --model "$work/q.xinf" > "$work/inspect.txt"
grep -q "QConv2D" "$work/inspect.txt" || fail "int8 inspect"
"$xinfer" convert "$work/q.xinf" -o "$work/q.onnx" | grep -q "ONNX" || fail "ONNX export"

# Errors: non-zero exit and a message, never a crash.
expect_error() {
  local pattern=$1; shift
  if "$@" > "$work/out" 2>&1; then fail "expected an error from: $*"; fi
  grep -q "$pattern" "$work/out" || { cat "$work/out"; fail "message lacks '$pattern'"; }
}
expect_error "missing --model" "$xinfer" bench
expect_error "cannot open" "$xinfer" bench --model "$work/none.xinf"
expect_error "input" "$xinfer" run --model "$model" --output "$work/y.npy"
printf 'garbage' > "$work/bad.npy"
expect_error "bad.npy" "$xinfer" run --model "$model" --input "$work/bad.npy" --output "$work/y.npy"
printf 'not an image' > "$work/bad.png"
expect_error "not a decodable image" "$xinfer" classify --model "$model" "$work/bad.png"
expect_error "threads" "$xinfer" bench --model "$model" --threads 0
expect_error "unknown command" "$xinfer" frobnicate
expect_error "calibration method" "$xinfer" quantize --model "$model" --calib "$photos" "${pre[@]}" --method median -o "$work/x.xinf"
mkdir -p "$work/empty"
expect_error "no images" "$xinfer" quantize --model "$model" --calib "$work/empty" "${pre[@]}" -o "$work/x.xinf"

# Help: every subcommand's --help and -h print its usage and options and exit 0, model or not.
for cmd in run bench inspect profile classify convert quantize validate; do
  "$xinfer" "$cmd" --help > "$work/help" || fail "$cmd --help exits non-zero"
  grep -q "^usage: xinfer $cmd " "$work/help" || fail "$cmd --help lacks its usage"
  grep -q "^  -h, --help" "$work/help" || fail "$cmd --help lacks its options"
  "$xinfer" "$cmd" -h | grep -q "^usage: xinfer $cmd " || fail "$cmd -h"
done
"$xinfer" classify --help | grep -q -- "--top K" || fail "classify --help lacks --top"
"$xinfer" bench --model "$model" --thread 2 --help | grep -q "^usage: xinfer bench" || fail "--help after a mistake"
"$xinfer" help quantize | grep -q -- "--calib DIR|IMAGE" || fail "help quantize"
for form in --help -h help; do
  "$xinfer" $form > "$work/help" || fail "xinfer $form exits non-zero"
  for cmd in run bench inspect profile classify convert quantize validate; do
    grep -q "^  $cmd " "$work/help" || fail "xinfer $form does not list $cmd"
  done
done

# Mistakes on the command line: exit status 2 and a message naming the culprit.
expect_usage_error() {
  local message=$1; shift
  local status=0
  "$xinfer" "$@" > "$work/out" 2>&1 || status=$?
  [ "$status" = 2 ] || { cat "$work/out"; fail "exit status $status, not 2, from: xinfer $*"; }
  grep -qF -- "$message" "$work/out" || { cat "$work/out"; fail "message lacks '$message'"; }
}
expect_usage_error "unknown option '--thread'" bench --model "$model" --thread 2
expect_usage_error "unknown option '--bogus'" classify --model "$model" --bogus "$image"
expect_usage_error "unknown option '-x'" profile --model "$model" -x
expect_usage_error "--top needs a value" classify --model "$model" --top --tsv "$image"
expect_usage_error "--model needs a value" inspect --model
expect_usage_error "-o needs a value" convert "$work/q.xinf" -o
expect_usage_error "--threads must be an integer in [1, 256], got 'abc'" bench --model "$model" --threads abc
expect_usage_error "--threads must be an integer in [1, 256], got '0'" run --model "$model" --threads 0
expect_usage_error "--runs must be an integer" profile --model "$model" --runs 2.5
expect_usage_error "--top must be an integer" classify --model "$model" --top -3 "$image"
expect_usage_error "--scale: 'abc' is not a number" classify --model "$model" --scale abc --size 64x64 "$image"
expect_usage_error "unexpected argument 'extra'" inspect --model "$model" extra
expect_usage_error "--threads given more than once" bench --model "$model" --threads 1 --threads 2
expect_usage_error "missing --model" inspect
expect_usage_error "unknown command 'frobnicate'" frobnicate

# Values that start with '-' but are numbers are values; after "--" everything is positional.
"$xinfer" classify --model "$model" --scale 1/255 --size 64x64 --mean -1,-0.5,-.5 --std 2,2,2 --top 1 -- "$image" |
  grep -c "class " | grep -qx 1 || fail "negative --mean values"
echo "cli: ok"
