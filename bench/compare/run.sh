#!/usr/bin/env bash
# Side-by-side speed of xinfer, ONNX Runtime and OpenCV DNN on the same .onnx files. Each engine runs in its own
# process, engines interleaved (A B C A B C) over several passes, at 1 and 2 threads. Prints the machine, a table
# (median, p90, min, cold run, ratio to ONNX Runtime, peak RSS, fraction of the FMA peak, load average before the
# pass), the ratio to ONNX Runtime per pass, and xinfer's instructions per inference counted by callgrind.
#   bench/compare/run.sh [--int8 INT8.onnx] [--no-callgrind] [--no-opencv] MODEL.onnx [MODEL.onnx ...] [RUNS] [PASSES]
# RUNS timed runs per engine and pass (default 100), PASSES passes (default 2). --int8 adds an int8 model (also
# recognised without the flag when the file names QuantizeLinear, DequantizeLinear or QLinear* ops), whose peak
# is 32 MAC/cycle/core instead of 16.
# XINFER_BIN picks the xinfer binary (default build/examples/xinfer, built if missing). ONNX Runtime comes from the
# npm registry (onnxruntime-node, into ${XINFER_CACHE:-~/.cache/xinfer}), OpenCV DNN from Debian's
# libopencv-dnn-dev (not installed by this script); its model is rewritten by to_opset11.py (Debian python3-onnx)
# into the cache folder. An engine that cannot load or run a model gets a "skipped: REASON" row.
set -euo pipefail
cd "$(dirname "$0")/../.."
usage="usage: bench/compare/run.sh [--int8 INT8.onnx] [--no-callgrind] [--no-opencv]"
usage+=" MODEL.onnx [MODEL.onnx ...] [RUNS] [PASSES]"

models=() kinds=() numbers=() callgrind=1 opencv=1
while [ $# -gt 0 ]; do
  case $1 in
    --int8) [ -f "${2:?$usage}" ] || { echo "no such model: $2" >&2; exit 2; }
            models+=("$2"); kinds+=(int8); shift ;;
    --no-callgrind) callgrind=0 ;;
    --no-opencv) opencv=0 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *.onnx) [ -f "$1" ] || { echo "no such model: $1" >&2; exit 2; }
            models+=("$1")
            if grep -qa -e QuantizeLinear -e DequantizeLinear -e QLinear "$1"; then kinds+=(int8)
            else kinds+=(fp32); fi ;;
    *[!0-9]*|"") echo "$usage" >&2; exit 2 ;;
    *) numbers+=("$1") ;;
  esac
  shift
done
[ ${#models[@]} -gt 0 ] || { echo "$usage" >&2; exit 2; }
runs=${numbers[0]:-100}
passes=${numbers[1]:-2}
warmup=$((runs < 10 ? runs : 10))  # as ort_bench.js and opencv_bench
cache=${XINFER_CACHE:-$HOME/.cache/xinfer}

# Engines: xinfer, ONNX Runtime, OpenCV DNN (built here against the system OpenCV, its models converted).
xinfer=${XINFER_BIN:-build/examples/xinfer}
if [ ! -x "$xinfer" ] && [ -z "${XINFER_BIN:-}" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXINFER_BUILD_TESTS=OFF -DXINFER_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build -j"$(nproc)" --target xinfer_cli >/dev/null
fi
[ -x "$xinfer" ] || { echo "no xinfer binary at $xinfer" >&2; exit 2; }
ort_modules=$(scripts/install-ort.sh)

opencv_bin="" opencv_models=() opencv_shapes=() opencv_skips=()
if [ "$opencv" = 1 ]; then
  if [ -f /usr/include/opencv4/opencv2/dnn.hpp ] && ls /usr/lib/*/libopencv_dnn.so >/dev/null 2>&1; then
    opencv_bin=$cache/opencv/opencv_bench
    if [ ! -x "$opencv_bin" ] || [ bench/compare/opencv_bench.cpp -nt "$opencv_bin" ]; then
      mkdir -p "$cache/opencv"
      g++ -O2 -std=c++17 -I/usr/include/opencv4 bench/compare/opencv_bench.cpp -o "$opencv_bin" \
        -lopencv_dnn -lopencv_core
    fi
  else
    echo "OpenCV DNN: skipped (libopencv-dnn-dev not installed; apt-get install libopencv-dnn-dev)"
  fi
fi
for m in "${models[@]}"; do
  out="" shape="" skip=""
  if [ -n "$opencv_bin" ]; then
    out=$cache/opencv/$(basename "$m" .onnx)-opencv.onnx
    if ! /usr/bin/python3 -c "import onnx" 2>/dev/null; then
      skip="python3-onnx not installed (apt-get install python3-onnx), needed for the opset-11 conversion"
    elif ! shape=$(/usr/bin/python3 bench/compare/to_opset11.py "$m" "$out" 2>"$cache/opencv/convert.log"); then
      skip=$(tail -n1 "$cache/opencv/convert.log" | sed 's/^to_opset11: /opset-11 conversion: /')
    fi
    if [ -n "$skip" ]; then  # OpenCV may still read the file as it is
      as_is=$("$opencv_bin" "$m" 1 1 2>/dev/null | grep '^{' | tail -n1) || true
      if [ -n "$as_is" ] && ! grep -q '"skipped"' <<<"$as_is"; then
        out=$m skip=""
      else
        as_is=$(sed -n 's/.*"skipped": "\(.*\)"}$/\1/p' <<<"$as_is")
        skip="$skip; the file as it is: ${as_is:-opencv_bench failed}"
      fi
    fi
  fi
  opencv_models+=("$out") opencv_shapes+=("$shape") opencv_skips+=("$(tr -d '"\\' <<<"$skip")")
done

results=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$results" "$errors"' EXIT
# Appends the engine's JSON line tagged with model index, pass and threads, or a skip line with the reason.
record() {
  local tag=$1 engine=$2 line
  shift 2
  line=$("$@" 2>"$errors" | grep '^{' | tail -n1) || true
  if [ -z "$line" ]; then
    line="{\"engine\": \"$engine\", \"skipped\": \"$(tail -n1 "$errors" | tr -d '"\\' | cut -c1-300)\"}"
  fi
  echo "{$tag, \"engine\": \"$engine\", ${line#\{}" >> "$results"
}
for pass in $(seq 1 "$passes"); do
  for i in "${!models[@]}"; do
    m=${models[$i]}
    for threads in 1 2; do
      echo "pass $pass/$passes, $(basename "$m"), $threads thread(s)" >&2
      tag="\"m\": $i, \"pass\": $pass, \"threads\": $threads"
      echo "{$tag, \"load\": $(cut -d' ' -f1 /proc/loadavg)}" >> "$results"
      record "$tag" xinfer "$xinfer" bench --model "$m" --threads "$threads" --runs "$runs" --warmup "$warmup" --json
      record "$tag" onnxruntime env NODE_PATH="$ort_modules" node bench/compare/ort_bench.js "$m" "$threads" "$runs"
      if [ -n "${opencv_skips[$i]}" ]; then
        echo "{$tag, \"engine\": \"opencv-dnn\", \"skipped\": \"${opencv_skips[$i]}\"}" >> "$results"
      elif [ -n "$opencv_bin" ]; then
        record "$tag" opencv-dnn "$opencv_bin" "${opencv_models[$i]}" "$threads" "$runs" "${opencv_shapes[$i]}"
      fi
    done
  done
done

python3 - "$results" "${#models[@]}" "${models[@]}" "${kinds[@]}" <<'PY'
import json, os, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
paths, kinds = sys.argv[3:3 + n], sys.argv[3 + n:3 + 2 * n]
names = [os.path.basename(p)[:-5] if p.endswith(".onnx") else os.path.basename(p) for p in paths]
peak_macs = {"fp32": 16, "int8": 32}

cpuinfo = open("/proc/cpuinfo").read()
model_name = (re.findall(r"model name\s*:\s*(.*)", cpuinfo) or ["unknown"])[0].strip()
flags = set((re.findall(r"^flags\s*:\s*(.*)$", cpuinfo, re.M) or [""])[0].split())
has = lambda *fs: "yes" if any(f in flags for f in fs) else "no"
mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", cpuinfo)]
ghz = max(mhz) / 1000 if mhz else 0
print(f"machine: {model_name}, {os.cpu_count()} cores, avx2 {has('avx2')}, avx512 {has('avx512f')}, "
      f"vnni {has('avx512_vnni', 'avx_vnni')}, clock {ghz:.2f} GHz (/proc/cpuinfo: the nominal clock; "
      "boost clocks make peak% an overestimate)")
versions = {}
for r in rows:
    if "engine" in r and "version" in r:
        versions.setdefault(r["engine"], r["version"])
print("engines: xinfer, " + ", ".join(f"{e} {v}" for e, v in versions.items() if e != "xinfer"))
macs = {}
for r in rows:
    if r.get("engine") == "xinfer" and "macs" in r:
        macs.setdefault(r["m"], r["macs"])
for i, name in enumerate(names):
    print(f"model {name} ({kinds[i]}): {macs.get(i, 0) / 1e6:.2f} M MACs, peak {peak_macs[kinds[i]]} MAC/cycle/core")
print("times in ms; vs ORT = median / ONNX Runtime's median (same model, threads, pass); cold = first run; "
      "peak% = xinfer's MAC count / median / (clock x threads x 16 MAC/cycle/core for fp32, 32 for int8)")

width = max(12, max(len(s) for s in names))
print(f"{'model':<{width}} {'thr':>3} {'pass':>4} {'load':>5}  {'engine':<12} {'median':>8} {'p90':>8} {'min':>8} "
      f"{'cold':>8} {'vs ORT':>7} {'RSS MB':>7} {'peak%':>6}")
ort = {(r["m"], r["threads"], r["pass"]): r["median_ms"]
       for r in rows if r.get("engine") == "onnxruntime" and "median_ms" in r}
loads, ratios, skipped_once = [], {}, set()
load = 0.0
for r in rows:
    if "engine" not in r:
        load = r["load"]
        loads.append(load)
        continue
    name, key = names[r["m"]], (r["m"], r["threads"], r["pass"])
    lead = f"{name:<{width}} {r['threads']:>3} {r['pass']:>4} {load:>5.2f}  {r['engine']:<12}"
    if "skipped" in r:
        if (r["m"], r["engine"], r["skipped"]) not in skipped_once:
            skipped_once.add((r["m"], r["engine"], r["skipped"]))
            print(f"{lead} skipped: {r['skipped']}")
        continue
    vs = r["median_ms"] / ort[key] if key in ort else None
    if vs is not None and r["engine"] != "onnxruntime":
        ratios.setdefault((r["m"], r["threads"], r["engine"]), []).append(vs)
    peak = peak_macs[kinds[r["m"]]] * ghz * 1e9 * r["threads"]  # MAC/s
    frac = macs.get(r["m"], 0) / (r["median_ms"] * 1e-3) / peak if peak else 0
    print(f"{lead} {r['median_ms']:8.3f} {r['p90_ms']:8.3f} {r['min_ms']:8.3f} {r['cold_ms']:8.3f} "
          f"{(f'{vs:7.2f}' if vs is not None else '      -')} {r['peak_rss_mb']:7.1f} {100 * frac:5.0f}%")

if ratios:
    print("\nratio to ONNX Runtime per pass (median / ORT median; < 1 is faster):")
for (m, threads, engine), vs in sorted(ratios.items(), key=lambda kv: (kv[0][:2], kv[0][2] != "xinfer")):
    print(f"  {names[m]:<{width}} {threads} thread(s) {engine:<12} " + " ".join(f"{v:.2f}" for v in vs))
busy = [l for l in loads if l > 0.5]
if busy:
    print(f"\nnote: the load average was above 0.5 (up to {max(busy):.2f}) before {len(busy)} of {len(loads)} "
          "(pass, model, threads) runs: 2-thread numbers are only meaningful on an idle machine")
PY

# Instructions per inference: callgrind counts instructions, which do not depend on the clock or on the other
# load of the machine. Runs of 1 and 2 timed inferences (no warm-up) differ by one inference, so loading, the
# cold run and the timing code cancel out. Valgrind emulates FMA slowly: about 20 s per fp32 MobileNetV2
# inference on a 2.4 GHz EPYC, a few seconds for int8.
if [ "$callgrind" = 1 ]; then
  echo
  if ! command -v valgrind >/dev/null; then
    echo "xinfer instructions per inference: skipped (valgrind not installed; apt-get install valgrind)"
  else
    for i in "${!models[@]}"; do
      counts=() why=""
      echo "callgrind: $(basename "${models[$i]}"), 1 and 2 runs" >&2
      for r in 1 2; do
        # A run that does not finish (valgrind has no AVX-512 decoder, say) counts for nothing.
        if valgrind --tool=callgrind --callgrind-out-file=/dev/null "$xinfer" bench --model "${models[$i]}" \
             --threads 1 --runs "$r" --warmup 0 --json >/dev/null 2>"$errors"; then
          counts+=("$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$errors")")
        else
          counts+=("")
          grep -q "unhandled instruction" "$errors" && why=": it cannot decode the binary's instructions (AVX-512?)"
        fi
      done
      if [ -n "${counts[0]}" ] && [ -n "${counts[1]}" ]; then
        echo "$(basename "${models[$i]}"): xinfer instructions per inference (callgrind, 1 thread):" \
          "$((counts[1] - counts[0])) (stable when wall time is not)"
      else
        echo "$(basename "${models[$i]}"): xinfer instructions per inference: skipped (valgrind failed on" \
          "$xinfer$why)"
      fi
    done
  fi
  if perf stat -x, -e instructions true 2>&1 | grep -q '^[0-9]'; then
    echo "perf counts instructions here too:" \
      "perf stat -e instructions $xinfer bench --model M --threads 1 --runs R --warmup 0"
  fi
fi
