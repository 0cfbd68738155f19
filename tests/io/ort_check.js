// Runs a model in ONNX Runtime and compares its output with xinfer's, for the export check (ort_export_check.sh).
//   node ort_check.js input OUT.npy D0,D1,... SEED        writes a float32 .npy of uniform [0, 1) values
//   node ort_check.js compare MODEL.onnx IN.npy XINFER.npy MIN_COSINE [MAX_DIFF]
// compare prints the largest |difference|, the cosine and whether each row's arg-max agrees; it exits 1 when an
// arg-max differs, the cosine is below MIN_COSINE or the largest |difference| exceeds MAX_DIFF.
const fs = require('fs');

function writeNpy(path, dims, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  fs.writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

function readNpy(path) {
  const b = fs.readFileSync(path);
  const len = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = b[6] === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + len);
  if (!header.includes("'<f4'")) throw new Error(`${path}: not float32`);
  const dims = header.match(/\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const body = b.subarray(start + len);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
  return { dims, data };
}

(async () => {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'input') {
    const [out, dimsText, seedText] = args;
    const dims = dimsText.split(',').map(Number);
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    let state = (Number(seedText) * 2654435761 + 12345) >>> 0;
    for (let i = 0; i < data.length; ++i) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      data[i] = (state >>> 8) / 16777216;
    }
    writeNpy(out, dims, data);
    return;
  }
  const ort = require('onnxruntime-node');
  const [model, inPath, xinferPath, minCosineText, maxDiffText] = args;
  const x = readNpy(inPath);
  const want = readNpy(xinferPath);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.dims) });
  const got = result[session.outputNames[0]].data;
  if (got.length !== want.data.length) throw new Error(`output sizes differ: ${got.length} vs ${want.data.length}`);
  const cols = want.dims[want.dims.length - 1];
  let maxDiff = 0, dot = 0, na = 0, nb = 0, agree = 0;
  for (let i = 0; i < got.length; ++i) {
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - want.data[i]));
    dot += got[i] * want.data[i];
    na += got[i] * got[i];
    nb += want.data[i] * want.data[i];
  }
  const rows = got.length / cols;
  const argmax = (a, r) => { let k = 0; for (let c = 1; c < cols; ++c) if (a[r * cols + c] > a[r * cols + k]) k = c; return k; };
  for (let r = 0; r < rows; ++r) agree += argmax(got, r) === argmax(want.data, r);
  const cosine = dot / Math.sqrt(na * nb);
  console.log(`onnxruntime-node ${require('onnxruntime-node/package.json').version} vs xinfer: max |diff| ${maxDiff.toPrecision(4)}, ` +
              `cosine ${cosine.toFixed(6)}, arg-max agrees on ${agree}/${rows} rows`);
  const maxAllowed = maxDiffText === undefined ? Infinity : Number(maxDiffText);
  process.exit(agree === rows && cosine >= Number(minCosineText) && maxDiff <= maxAllowed ? 0 : 1);
})().catch((e) => { console.error(e.message); process.exit(2); });
