#!/usr/bin/env bash
# Side-by-side speed of xinfer and ONNX Runtime on the same .onnx file, each engine in its own process, engines
# interleaved (A B A B) over several passes, threads 1 and 2. Prints a table of medians, p90, ratio to ONNX
# Runtime, peak RSS and the fraction of the fp32 FMA peak (16 MAC/cycle/core at the measured clock), with the
# load average before each pass: 2-thread numbers mean something only on an idle machine.
#   bench/compare/run.sh MODEL.onnx [RUNS] [PASSES]
# ONNX Runtime comes from the npm registry (onnxruntime-node, into ${XINFER_CACHE:-~/.cache/xinfer}); it is not
# vendored. OpenCV DNN (Debian libopencv-dev 4.6) is not part of this harness yet.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:?usage: bench/compare/run.sh MODEL.onnx [RUNS] [PASSES]}
runs=${2:-100}
passes=${3:-2}
ort_modules=$(scripts/install-ort.sh)
if [ ! -x build/examples/xinfer ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXINFER_BUILD_TESTS=OFF -DXINFER_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build -j"$(nproc)" --target xinfer_cli >/dev/null
fi
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for pass in $(seq 1 "$passes"); do
  for threads in 1 2; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "{\"pass\": $pass, \"threads\": $threads, \"load\": $load}" >> "$results"
    build/examples/xinfer bench --model "$model" --threads "$threads" --runs "$runs" --json |
      sed "s/^{/{\"engine\": \"xinfer\", \"pass\": $pass, /" >> "$results"
    NODE_PATH="$ort_modules" node bench/compare/ort_bench.js "$model" "$threads" "$runs" |
      sed "s/^{/{\"pass\": $pass, /" >> "$results"
  done
done
python3 - "$results" "$model" <<'PY'
import json, sys, re
rows = [json.loads(l) for l in open(sys.argv[1])]
macs = next((r["macs"] for r in rows if r.get("engine") == "xinfer"), 0)
mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", open("/proc/cpuinfo").read())]
ghz = max(mhz) / 1000 if mhz else 0
print(f"model {sys.argv[2]}: {macs / 1e6:.2f} M MACs; clock {ghz:.2f} GHz (/proc/cpuinfo: the nominal clock; boost clocks make peak% an overestimate)")
print(f"{'pass':>4} {'thr':>3} {'load':>5}  {'engine':<12} {'median':>8} {'p90':>8} {'min':>8} {'vs ORT':>7} {'RSS MB':>7} {'peak%':>6}")
for r in rows:
    if "engine" not in r:
        load = r["load"]
        continue
    ort = next(o for o in rows if o.get("engine") == "onnxruntime" and o["pass"] == r["pass"] and o["threads"] == r["threads"])
    frac = macs / (r["median_ms"] * 1e-3) / (16 * ghz * 1e9 * r["threads"]) if ghz else 0
    print(f"{r['pass']:>4} {r['threads']:>3} {load:>5}  {r['engine']:<12} {r['median_ms']:8.3f} {r['p90_ms']:8.3f} "
          f"{r['min_ms']:8.3f} {r['median_ms'] / ort['median_ms']:7.2f} {r['peak_rss_mb']:7.1f} {100 * frac:5.0f}%")
PY
