// Records ONNX Runtime's outputs for a model on deterministic inputs, as raw little-endian float32.
//   node ort_reference.js MODEL.onnx OUT.bin COUNT
// Input k (k = 0..COUNT-1) fills the model's single [1,C,H,W] input with values of the generator below, seeded
// with k: tests/io/test_real_models.cpp regenerates exactly the same inputs.
const ort = require('onnxruntime-node');
const fs = require('fs');

// 32-bit LCG (Numerical Recipes constants); value in [0, 1) from the top 24 bits.
function* uniform(seed) {
  let state = (seed * 2654435761 + 12345) >>> 0;
  for (;;) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    yield (state >>> 8) / 16777216;
  }
}

(async () => {
  const [model, out, count] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const meta = session.inputMetadata[0];
  const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
  const size = dims.reduce((a, b) => a * b, 1);
  const chunks = [];
  for (let k = 0; k < Number(count); ++k) {
    const gen = uniform(k);
    const data = new Float32Array(size);
    for (let i = 0; i < size; ++i) data[i] = gen.next().value * 2 - 1;
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
    const y = result[session.outputNames[0]].data;
    chunks.push(Buffer.from(new Float32Array(y).buffer));
  }
  fs.writeFileSync(out, Buffer.concat(chunks));
  console.log(`${out}: ${count} outputs of ${chunks[0].length / 4} floats (onnxruntime-node ${require('onnxruntime-node/package.json').version})`);
})();
