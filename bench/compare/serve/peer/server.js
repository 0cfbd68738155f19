// An image-classification server as a team would write it with express, onnxruntime-node and sharp, following
// their documentation: the comparison peer of bench/compare/serve/run.sh.
//
//   node server.js --model MODEL.onnx [--name NAME] [--host 127.0.0.1] [--port 8080] [--threads N]
//                  [--labels JSON] [--preprocessing JSON]
//
// Routes (Open Inference Protocol v2 subset, FP32 tensors):
//   GET  /v2/health/live, /v2/health/ready, /v2/models/{m}
//   POST /v2/models/{m}[/versions/{v}]/infer   JSON body (express.json), or the binary tensor extension when the
//        request carries Inference-Header-Content-Length (express.raw: JSON header, then raw little-endian tensors)
//   POST /predict                               a raw image body (sharp decodes it) -> top-5 {label, index, probability}
// Labels and preprocessing come from the ONNX file's metadata_props ("labels", "xinfer.preprocessing": {scale, mean,
// std, width, height, resize}); onnxruntime-node does not expose them, so the file is read for them here. --labels
// and --preprocessing (JSON) override or supply them. Prints 'listening on http://HOST:PORT' once the model has run
// once.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const express = require('express');
const ort = require('onnxruntime-node');
const sharp = require('sharp');

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    name: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: process.env.PORT || '8080' },
    threads: { type: 'string', default: '1' },
    labels: { type: 'string' },
    preprocessing: { type: 'string' },
  },
});
if (!args.model) {
  console.error('usage: node server.js --model MODEL.onnx [--name NAME] [--port P] [--threads N]');
  process.exit(2);
}
const modelName = args.name || path.basename(args.model, path.extname(args.model));
const BODY_LIMIT = '64mb';

// metadata_props of an ONNX ModelProto (field 14: StringStringEntryProto {1: key, 2: value}); other fields skipped.
function onnxMetadata(file) {
  const buf = fs.readFileSync(file);
  const varint = (pos) => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = buf[pos.i++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  const props = {};
  const pos = { i: 0 };
  const fields = (end, onField) => {
    while (pos.i < end) {
      const key = varint(pos);
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) varint(pos);
      else if (wire === 1) pos.i += 8;
      else if (wire === 5) pos.i += 4;
      else if (wire === 2) {
        const n = varint(pos);
        const start = pos.i;
        pos.i += n;
        onField(field, start, start + n);
      } else throw new Error(`${file}: not an ONNX file (protobuf wire type ${wire})`);
    }
  };
  fields(buf.length, (field, start, end) => {
    if (field !== 14) return;
    const entry = {};
    const saved = pos.i;
    pos.i = start;
    fields(end, (f, s, e) => { entry[f] = buf.toString('utf8', s, e); });
    pos.i = saved;
    props[entry[1]] = entry[2];
  });
  return props;
}

const metadata = onnxMetadata(args.model);
const labels = JSON.parse(args.labels || metadata.labels || 'null');
const pre = JSON.parse(args.preprocessing || metadata['xinfer.preprocessing'] || 'null');

function httpError(status, message) {
  return Object.assign(new Error(message), { status });
}

const sizeOf = (shape) => shape.reduce((a, b) => a * b, 1);

function checkShape(meta, shape) {
  const ok = Array.isArray(shape) && shape.length === meta.shape.length &&
    shape.every((d, i) => Number.isInteger(d) && d >= 0 && (typeof meta.shape[i] !== 'number' || d === meta.shape[i]));
  if (!ok) throw httpError(400, `input '${meta.name}': shape [${shape}] does not match [${meta.shape}]`);
}

// Class scores as probabilities: as they are when the model already ends in a softmax, else softmax.
function toProbabilities(scores) {
  const sum = scores.reduce((a, b) => a + b, 0);
  if (scores.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3) return Array.from(scores);
  const max = Math.max(...scores);
  const exps = Array.from(scores, (v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / total);
}

async function main() {
  const threads = Number(args.threads);
  const session = await ort.InferenceSession.create(args.model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inputs = session.inputMetadata;
  const imageInput = inputs.length === 1 && inputs[0].shape.length === 4 && inputs[0].shape[3] === 3 ? inputs[0] : null;

  // Warm-up: one run at batch 1, so the first request does not pay for the first-run allocations.
  const warm = {};
  for (const meta of inputs) {
    const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
    warm[meta.name] = new ort.Tensor('float32', new Float32Array(sizeOf(dims)), dims);
  }
  await session.run(warm);

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  const modelMetadata = {
    name: modelName,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: inputs.map((m) => ({ name: m.name, datatype: 'FP32', shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)) })),
    outputs: session.outputMetadata.map((m) => ({
      name: m.name, datatype: 'FP32', shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)),
    })),
  };

  const checkModel = (req, res, next) => {
    if (req.params.model !== modelName) return next(httpError(404, `unknown model '${req.params.model}'`));
    if (req.params.version && req.params.version !== '1') {
      return next(httpError(404, `model '${modelName}' has no version '${req.params.version}'`));
    }
    return next();
  };

  app.get('/v2/health/live', (req, res) => res.json({ live: true }));
  app.get('/v2/health/ready', (req, res) => res.json({ ready: true }));
  app.get('/v2/models/:model{/versions/:version}', checkModel, (req, res) => res.json(modelMetadata));

  // JSON body by default; the binary tensor extension (Inference-Header-Content-Length) as a raw buffer.
  const jsonBody = express.json({ limit: BODY_LIMIT });
  const rawBody = express.raw({ type: () => true, limit: BODY_LIMIT });
  const inferBody = (req, res, next) =>
    (req.get('Inference-Header-Content-Length') !== undefined ? rawBody : jsonBody)(req, res, next);

  app.post('/v2/models/:model{/versions/:version}/infer', checkModel, inferBody, async (req, res) => {
    let request = req.body;
    let binary = null;
    const headerLength = req.get('Inference-Header-Content-Length');
    if (headerLength !== undefined) {
      const n = Number(headerLength);
      if (!Number.isInteger(n) || n <= 0 || n > req.body.length) {
        throw httpError(400, `Inference-Header-Content-Length ${headerLength} is out of range`);
      }
      try {
        request = JSON.parse(req.body.toString('utf8', 0, n));
      } catch (e) {
        throw httpError(400, `the inference header is not JSON: ${e.message}`);
      }
      binary = { body: req.body, offset: n };
    }
    if (!request || !Array.isArray(request.inputs)) throw httpError(400, "the request has no 'inputs' list");

    const feeds = {};
    for (const input of request.inputs) {
      const meta = inputs.find((m) => m.name === input.name);
      if (!meta) throw httpError(400, `unknown input '${input.name}'`);
      if (input.datatype !== 'FP32') throw httpError(400, `input '${input.name}': datatype must be FP32`);
      checkShape(meta, input.shape);
      const count = sizeOf(input.shape);
      let data;
      const binarySize = input.parameters && input.parameters.binary_data_size;
      if (binarySize !== undefined) {
        if (!binary) throw httpError(400, `input '${input.name}': binary_data_size without a binary body`);
        if (binarySize !== count * 4 || binary.offset + binarySize > binary.body.length) {
          throw httpError(400, `input '${input.name}': binary_data_size ${binarySize} does not fit`);
        }
        const start = binary.body.byteOffset + binary.offset;
        data = new Float32Array(binary.body.buffer.slice(start, start + binarySize));  // aligned copy
        binary.offset += binarySize;
      } else {
        if (!Array.isArray(input.data)) throw httpError(400, `input '${input.name}': 'data' is not a list`);
        const flat = Array.isArray(input.data[0]) ? input.data.flat(Infinity) : input.data;
        if (flat.length !== count) {
          throw httpError(400, `input '${input.name}': ${flat.length} values for shape [${input.shape}]`);
        }
        data = Float32Array.from(flat);
      }
      feeds[meta.name] = new ort.Tensor('float32', data, input.shape);
    }
    for (const meta of inputs) if (!feeds[meta.name]) throw httpError(400, `input '${meta.name}' is missing`);

    const requested = request.outputs && request.outputs.length ? request.outputs : session.outputNames.map((name) => ({ name }));
    for (const o of requested) {
      if (!session.outputNames.includes(o.name)) throw httpError(400, `unknown output '${o.name}'`);
    }
    const results = await session.run(feeds, requested.map((o) => o.name));

    const binaryDefault = Boolean(request.parameters && request.parameters.binary_data_output);
    const chunks = [];
    const outputs = requested.map((o) => {
      const t = results[o.name];
      const out = { name: o.name, datatype: 'FP32', shape: t.dims };
      const asBinary = o.parameters && o.parameters.binary_data !== undefined ? o.parameters.binary_data : binaryDefault;
      if (asBinary) {
        const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        out.parameters = { binary_data_size: bytes.length };
        chunks.push(bytes);
      } else {
        out.data = Array.from(t.data);
      }
      return out;
    });
    const response = { model_name: modelName, model_version: '1', outputs };
    if (request.id !== undefined) response.id = request.id;
    if (!chunks.length) return res.json(response);
    const header = Buffer.from(JSON.stringify(response));
    res.set('Inference-Header-Content-Length', String(header.length));
    res.type('application/octet-stream').send(Buffer.concat([header, ...chunks]));
  });

  // POST /predict: one image as the raw body, decoded and preprocessed with the model's stored preprocessing.
  app.post('/predict', express.raw({ type: () => true, limit: BODY_LIMIT }), async (req, res) => {
    const start = process.hrtime.bigint();
    const top = Number(req.query.top || 5);
    if (!Number.isInteger(top) || top < 1) throw httpError(400, `top must be a positive integer, got '${req.query.top}'`);
    if (!imageInput) throw httpError(400, `model '${modelName}' does not take one image`);
    if (!pre) throw httpError(400, `model '${modelName}' stores no preprocessing`);
    if (!Buffer.isBuffer(req.body) || !req.body.length) throw httpError(400, 'the request has no image body');
    let pixels;
    try {
      pixels = await sharp(req.body)
        .resize(pre.width, pre.height, { fit: pre.resize === 'crop' ? 'cover' : 'fill' })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer();
    } catch (e) {
      throw httpError(400, `the image cannot be decoded: ${e.message}`);
    }
    const data = new Float32Array(pixels.length);
    for (let i = 0; i < pixels.length; ++i) {
      const c = i % 3;
      data[i] = (pixels[i] * pre.scale - pre.mean[c]) / pre.std[c];
    }
    const input = new ort.Tensor('float32', data, [1, pre.height, pre.width, 3]);
    const results = await session.run({ [imageInput.name]: input });
    const probabilities = toProbabilities(results[session.outputNames[0]].data);
    const predictions = probabilities
      .map((probability, index) => ({ label: labels ? labels[index] : String(index), index, probability }))
      .sort((a, b) => b.probability - a.probability || a.index - b.index)
      .slice(0, top);
    res.json({ predictions, model: modelName, time_ms: Number(process.hrtime.bigint() - start) / 1e6 });
  });

  app.use((req, res) => res.status(404).json({ error: `no route for ${req.method} ${req.path}` }));
  // Body-parser errors carry a status (400 malformed JSON, 413 too large); anything else is the server's fault.
  app.use((err, req, res, next) => {  // eslint-disable-line no-unused-vars
    const status = err.status || err.statusCode || 500;
    res.status(status).json({ error: err.message });
  });

  const server = app.listen(Number(args.port), args.host, () => {
    const { address, port } = server.address();
    console.error(`listening on http://${address}:${port}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
