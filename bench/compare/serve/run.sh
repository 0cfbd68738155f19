#!/usr/bin/env bash
# Serving benchmark: `xinfer serve` against an express + onnxruntime-node + sharp server (peer/server.js), the same
# model file, the same request bodies, the same load generator (wrk), one server at a time on 127.0.0.1.
#
#   XINFER_BIN=build/examples/xinfer bench/compare/serve/run.sh [--duration S] [--warmup S] [--concurrency "1 8 32"]
#       [--threads "1 2"] [--repetitions R] [--queue-delay-us D] [--photo IMAGE.jpg] [--out DIR]
#
# For each repetition, thread count and server configuration (xinfer --max-batch 1, xinfer --max-batch 8
# --max-queue-delay-us D, the peer), each body (OIP JSON, OIP binary tensor extension, JPEG to /predict) is warmed up
# for --warmup seconds, then timed with wrk for --duration seconds at each concurrency. Prints the machine, one line per
# timed run (rps, p50, p99, non-2xx), each server's peak resident memory, then report.py's markdown table. Raw results
# go to DIR (default ${XINFER_CACHE:-~/.cache/xinfer}/serve-bench/DATE): results.jsonl, memory.jsonl, machine.json,
# answers/, logs/, report.md. Defaults (5 s, 2 s warm-up, 2 repetitions) take about 11 minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage='usage: XINFER_BIN=... bench/compare/serve/run.sh [--duration S] [--warmup S] [--concurrency "1 8 32"]
       [--threads "1 2"] [--repetitions R] [--queue-delay-us D] [--photo IMAGE.jpg] [--out DIR]'

duration=5 warmup=2 concurrency="1 8 32" threads_list="1 2" repetitions=2 queue_delay_us=500
photo="" out=""
while [ $# -gt 0 ]; do
  case $1 in
    --duration) duration=${2:?$usage}; shift ;;
    --warmup) warmup=${2:?$usage}; shift ;;
    --concurrency) concurrency=${2:?$usage}; shift ;;
    --threads) threads_list=${2:?$usage}; shift ;;
    --repetitions) repetitions=${2:?$usage}; shift ;;
    --queue-delay-us) queue_delay_us=${2:?$usage}; shift ;;
    --photo) photo=${2:?$usage}; shift ;;
    --out) out=${2:?$usage}; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
for n in "$duration" "$warmup" "$repetitions" "$queue_delay_us" $concurrency $threads_list; do
  case $n in ''|*[!0-9]*) echo "not a whole number: '$n'" >&2; echo "$usage" >&2; exit 2 ;; esac
done
[ "$duration" -ge 1 ] && [ "$repetitions" -ge 1 ] || { echo "duration and repetitions must be >= 1" >&2; exit 2; }
absolute() { case $1 in /*|"") echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
photo=$(absolute "$photo") out=$(absolute "$out")
xinfer=$(absolute "${XINFER_BIN:-}")
cd "$here/../../.."
xinfer=${xinfer:-$PWD/build/examples/xinfer}
photo=${photo:-$PWD/tests/data/photos/fruits.jpg}
[ -f "$photo" ] || { echo "no such photo: $photo" >&2; exit 2; }
python=/usr/bin/python3
[ -x "$xinfer" ] || { echo "no xinfer binary at $xinfer (set XINFER_BIN)" >&2; exit 2; }
for tool in wrk node npm curl "$python"; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install wrk nodejs npm curl python3)" >&2; exit 2; }
done
cache=${XINFER_CACHE:-$HOME/.cache/xinfer}
out=${out:-$cache/serve-bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out/logs" "$out/answers" "$out/model"
out=$(cd "$out" && pwd)
: >"$out/results.jsonl"
: >"$out/memory.jsonl"
name=nsfw_mobilenet_v2

# --- The machine ---------------------------------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { grep -qw "$1" <<<"$flags" && echo yes || echo no; }
cores=$(nproc)
echo "machine: $cpu; $cores cores; avx2 $(has avx2), avx512f $(has avx512f), avx512_vnni $(has avx512_vnni);" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
busy_percent() {  # share of all cores busy over one second (/proc/stat)
  local a b
  a=($(head -n1 /proc/stat)); sleep 1; b=($(head -n1 /proc/stat))
  local total=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
busy=$(busy_percent)
[ "$busy" -lt 10 ] || echo "warning: the cores are already ${busy}% busy: another job is running and the numbers will be noisy"

# --- The model: the .xinf, exported once to ONNX; both servers load that file ----------------------------------------
xinf=$cache/$name.xinf
scripts/fetch_model.sh "$xinfer" >/dev/null
onnx=$out/model/$name.onnx
"$xinfer" convert "$xinf" -o "$onnx" >/dev/null
xinf_meta=$($python "$here/model_metadata.py" "$xinf")
onnx_meta=$($python "$here/model_metadata.py" "$onnx")
meta_field() { $python -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else json.dumps(v))' "$1" "$2"; }
xinfer_model=$onnx peer_args=()
if [ -z "$(meta_field "$onnx_meta" preprocessing)" ]; then
  # An xinfer build whose ONNX export lacks "preprocessing": xinfer serves the .xinf the ONNX came from (same graph
  # and weights, and its /predict needs the stored preprocessing); the peer gets the .xinf's values as arguments.
  xinfer_model=$xinf
  peer_args+=(--preprocessing "$(meta_field "$xinf_meta" preprocessing)")
  echo "note: $onnx has no 'preprocessing' in metadata_props; xinfer loads $xinf," \
    "the peer gets its preprocessing on the command line"
fi
if [ -z "$(meta_field "$onnx_meta" labels)" ]; then
  peer_args+=(--labels "$(meta_field "$xinf_meta" labels)")
fi
echo "model: $onnx ($(stat -c%s "$onnx") bytes); xinfer loads $(basename "$xinfer_model"), the peer $(basename "$onnx")"

# --- The peer: npm ci from the lock file into the cache ---------------------------------------------------------------
peer_dir=$cache/serve-peer
if ! cmp -s "$here/peer/package-lock.json" "$peer_dir/package-lock.json" || [ ! -d "$peer_dir/node_modules" ]; then
  mkdir -p "$peer_dir"
  cp "$here/peer/package.json" "$here/peer/package-lock.json" "$peer_dir/"
  (cd "$peer_dir" && npm ci --ignore-scripts --no-audit --no-fund >&2)
fi
peer_check='require("sharp"); require("onnxruntime-node")'
if ! NODE_PATH=$peer_dir/node_modules node -e "$peer_check" 2>/dev/null; then
  echo "note: sharp or onnxruntime-node does not load without install scripts; running npm ci with them" >&2
  (cd "$peer_dir" && npm ci --no-audit --no-fund >&2)
  NODE_PATH=$peer_dir/node_modules node -e "$peer_check"
fi
versions=$(NODE_PATH=$peer_dir/node_modules node -e '
  const v = (p) => JSON.parse(require("fs").readFileSync(`${process.env.NODE_PATH}/${p}/package.json`)).version;
  console.log(`express ${v("express")}, onnxruntime-node ${v("onnxruntime-node")}, sharp ${v("sharp")}` +
              ` (libvips ${require("sharp").versions.vips})`)')
echo "peer: node $(node --version), $versions"
$python - "$out/machine.json" "$cpu" "$cores" "$(has avx2)" "$(has avx512f)" "$(has avx512_vnni)" \
  "$(wrk -v 2>&1 | head -n1 | cut -d" " -f1-2)" "$xinfer (sha256 $(sha256sum "$xinfer" | cut -c1-12))" \
  "node $(node --version), $versions" "$(basename "$xinfer_model")" <<'EOF'
import json, sys
keys = ["cpu", "cores", "avx2", "avx512f", "avx512_vnni", "wrk", "xinfer", "peer", "xinfer_model"]
json.dump(dict(zip(keys, sys.argv[2:])), open(sys.argv[1], "w"))
EOF

# --- The bodies ------------------------------------------------------------------------------------------------------
bodies=$out/bodies
$python "$here/make_bodies.py" "$photo" "$xinf" "$bodies" >"$out/bodies.json"
echo "bodies: from $photo: $(cat "$out/bodies.json")"
body_file() { case $1 in json) echo "$bodies/infer.json" ;; binary) echo "$bodies/infer.bin" ;; jpeg) echo "$bodies/image.jpg" ;; esac; }
body_path() { case $1 in jpeg) echo /predict ;; *) echo "/v2/models/$name/infer" ;; esac; }
body_type() { case $1 in json) echo application/json ;; binary) echo application/octet-stream ;; jpeg) echo image/jpeg ;; esac; }

# --- Servers -----------------------------------------------------------------------------------------------------------
server_pid="" server_port=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid="" server_port=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# start_server SERVER THREADS MAX_BATCH LOG: starts it on a free port and waits until it listens.
start_server() {
  local server=$1 threads=$2 batch=$3 log=$4
  if [ "$server" = xinfer ]; then
    local delay=()
    [ "$batch" -gt 1 ] && delay=(--max-queue-delay-us "$queue_delay_us")
    "$xinfer" serve --model "$name=$xinfer_model" --port 0 --threads "$threads" --max-batch "$batch" "${delay[@]}" \
      --no-access-log 2>"$log" &
  else
    NODE_PATH=$peer_dir/node_modules node "$here/peer/server.js" --model "$onnx" --name "$name" --port 0 \
      --threads "$threads" "${peer_args[@]}" 2>"$log" &
  fi
  server_pid=$!
  for _ in $(seq 600); do
    server_port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log")
    [ -n "$server_port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$server did not start; its log ($log):" >&2
  cat "$log" >&2
  exit 1
}

# The server process and its descendants.
tree_pids() {
  local pids=("$1") i=0 pid
  while [ $i -lt ${#pids[@]} ]; do
    for pid in $(cat /proc/"${pids[$i]}"/task/*/children 2>/dev/null); do pids+=("$pid"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}
# Peak resident memory (VmHWM, kB) of the server process tree.
peak_rss_kb() {
  local total=0 pid kb
  for pid in $(tree_pids "$1"); do
    kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/"$pid"/status 2>/dev/null)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
# CPU time (user + system, clock ticks) the server process tree has used so far, all threads included.
clock_tick=$(getconf CLK_TCK)
cpu_ticks() {
  local total=0 pid ticks
  for pid in $(tree_pids "$1"); do
    ticks=$(sed 's/^.*) //' /proc/"$pid"/stat 2>/dev/null | awk '{print $12 + $13}')
    total=$((total + ${ticks:-0}))
  done
  echo "$total"
}

# --- Agreement: the same body must give the same answer from both servers before anything is timed --------------------
first_threads=${threads_list%% *}
for server in xinfer peer; do
  start_server "$server" "$first_threads" 1 "$out/logs/check-$server.log"
  for body in json binary jpeg; do
    headers=(-H "Content-Type: $(body_type $body)")
    [ "$body" = binary ] && headers+=(-H "Inference-Header-Content-Length: $(cat "$bodies/infer.bin.header-length")")
    curl -sS --fail-with-body "${headers[@]}" --data-binary @"$(body_file $body)" \
      -o "$out/answers/$server-$body.json" "http://127.0.0.1:$server_port$(body_path $body)" ||
      { echo "$server: $body request failed: $(cat "$out/answers/$server-$body.json" 2>/dev/null)" >&2; exit 1; }
  done
  stop_server
done
$python "$here/check_answers.py" "$out/answers" || { echo "the servers disagree: nothing timed" >&2; exit 1; }

# --- Timed runs --------------------------------------------------------------------------------------------------------
configs="xinfer:1 xinfer:8 peer:0"   # SERVER:MAX_BATCH (0: the peer has no batching)
max_c=$(tr ' ' '\n' <<<"$concurrency" | sort -n | tail -n1)
run_wrk() {  # run_wrk BODY CONNECTIONS SECONDS -> the WRK_RESULT JSON (empty when wrk failed)
  wrk -t1 -c"$2" -d"$3"s --timeout 30s -s "$here/wrk/$1.lua" "http://127.0.0.1:$server_port$(body_path "$1")" \
    -- "$(body_file "$1")" 2>&1 | sed -n 's/^WRK_RESULT //p'
}
printf '%-4s %-7s %-3s %-5s %-7s %5s %9s %9s %9s %6s %7s\n' rep server thr batch body conc rps p50_ms p99_ms cores fail
for rep in $(seq "$repetitions"); do
  order=$configs
  [ $((rep % 2)) -eq 0 ] && order=$(tr ' ' '\n' <<<"$configs" | tac | tr '\n' ' ')  # alternate the order
  for threads in $threads_list; do
    for config in $order; do
      server=${config%%:*} batch=${config##*:}
      start_server "$server" "$threads" "$((batch > 0 ? batch : 1))" "$out/logs/$server-b$batch-t$threads-r$rep.log"
      load=$(cut -d' ' -f1 /proc/loadavg)
      for body in json binary jpeg; do
        [ "$warmup" -gt 0 ] && run_wrk "$body" "$max_c" "$warmup" >/dev/null
        for c in $concurrency; do
          ticks_before=$(cpu_ticks "$server_pid")
          result=$(run_wrk "$body" "$c" "$duration")
          ticks=$(($(cpu_ticks "$server_pid") - ticks_before))
          [ -n "$result" ] || { echo "wrk failed ($server $body c=$c)" >&2; exit 1; }
          $python -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(json.loads(sys.argv[2])); print(json.dumps(r))' \
            "{\"rep\": $rep, \"server\": \"$server\", \"threads\": $threads, \"max_batch\": $batch,
              \"body\": \"$body\", \"concurrency\": $c, \"load_before\": $load,
              \"server_cpu_s\": $(awk -v t="$ticks" -v hz="$clock_tick" 'BEGIN {printf "%.2f", t / hz}')}" \
            "$result" >>"$out/results.jsonl"
          tail -n1 "$out/results.jsonl" | $python -c '
import json, sys
r = json.loads(sys.stdin.read())
batch = "-" if r["max_batch"] == 0 else str(r["max_batch"])
print("%-4d %-7s %-3d %-5s %-7s %5d %9.1f %9.2f %9.2f %6.2f %7d" % (r["rep"], r["server"], r["threads"], batch,
      r["body"], r["concurrency"], r["rps"], r["p50_ms"], r["p99_ms"], r["server_cpu_s"] / r["duration_s"],
      r["non2xx"] + r["socket_errors"] + r["timeouts"]))'
        done
      done
      echo "{\"rep\": $rep, \"server\": \"$server\", \"threads\": $threads, \"max_batch\": $batch," \
        "\"peak_rss_kb\": $(peak_rss_kb "$server_pid")}" >>"$out/memory.jsonl"
      stop_server
    done
  done
done

echo
echo "peak resident memory (VmHWM of the server process tree, largest over repetitions):"
$python - "$out/memory.jsonl" <<'EOF'
import json, sys
peak = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = (r["server"], r["threads"], r["max_batch"])
    peak[key] = max(peak.get(key, 0), r["peak_rss_kb"])
for (server, threads, batch), kb in sorted(peak.items()):
    config = "batching n/a" if batch == 0 else f"--max-batch {batch}"
    print(f"  {server:<7} {threads} thread(s), {config:<14} {kb / 1024:7.1f} MiB")
EOF
echo
$python "$here/report.py" "$out" | tee "$out/report.md"
echo "raw results: $out"
