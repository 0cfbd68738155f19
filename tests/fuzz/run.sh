#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a bounded time on a copy of its seed corpus.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]     (default 60)
# A crash leaves its input in build-fuzz/crash-*: add it to tests/fuzz/regressions/<target>/ so the test suite
# replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out"
# -Wno-pass-failed: clang at -O1 declines some unroll pragmas; the kernels are correct either way.
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wno-pass-failed -mavx2 -mfma
       -Iinclude)
status=0
for target in onnx xinf tfjs infer_request; do
  clang++ "${flags[@]}" "tests/fuzz/fuzz_$target.cpp" -o "$out/fuzz_$target" -lpthread
  corpus="$out/corpus_$target"
  rm -rf "$corpus" && mkdir -p "$corpus"
  cp tests/fuzz/corpus/$target/* "$corpus"/
  [ -d "tests/fuzz/regressions/$target" ] && cp tests/fuzz/regressions/$target/* "$corpus"/ 2>/dev/null || true
  echo "== fuzz_$target for ${seconds}s"
  if ! "$out/fuzz_$target" "$corpus" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=262144 \
      -artifact_prefix="$out/" -print_final_stats=1 2>"$out/fuzz_$target.log"; then
    status=1
    tail -n 40 "$out/fuzz_$target.log"
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/fuzz_$target.log" | sed "s/^/fuzz_$target /"
done
exit $status
