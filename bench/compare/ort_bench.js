// Times ONNX Runtime (npm onnxruntime-node) on one model: warm-up, then R timed runs of session.run.
//   node ort_bench.js MODEL.onnx THREADS RUNS   -> one JSON line (median_ms, p90_ms, min_ms, peak_rss_mb, ...)
const ort = require('onnxruntime-node');

(async () => {
  const [model, threads, runs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 100)];
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = {};
  for (const meta of session.inputMetadata) {
    const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; ++i) data[i] = ((i * 2654435761) >>> 8) / 16777216;
    feeds[meta.name] = new ort.Tensor('float32', data, dims);
  }
  let start = process.hrtime.bigint();
  await session.run(feeds);
  const coldMs = Number(process.hrtime.bigint() - start) / 1e6;
  for (let i = 0; i < Math.min(10, runs); ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.round(q * (times.length - 1)))];
  console.log(JSON.stringify({
    engine: 'onnxruntime', version: require('onnxruntime-node/package.json').version, threads,
    median_ms: at(0.5), p90_ms: at(0.9), min_ms: times[0], cold_ms: coldMs, load_ms: loadMs,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }));
})();
