#!/usr/bin/python3
"""Reads a model file's labels, preprocessing and first input name without any ML library.

    model_metadata.py MODEL.xinf|MODEL.onnx      -> one JSON object {"labels", "preprocessing", "input_name"}

.xinf: a safetensors file whose "__metadata__" holds "labels", "preprocessing" and "graph" as JSON strings.
.onnx: a ModelProto; metadata_props (field 14) are key/value string pairs, graph (7) -> input (11) -> name (1).
A key the file lacks is left out.
"""
import json
import struct
import sys


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf, start=0, end=None):
    """Yields (field number, wire type, value) of one protobuf message; value is bytes for length-delimited."""
    i, end = start, len(buf) if end is None else end
    while i < end:
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _onnx(path):
    with open(path, "rb") as f:
        buf = memoryview(f.read())
    out = {}
    for number, wire, value in _fields(buf):
        if number == 14 and wire == 2:
            entry = {n: bytes(v).decode() for n, w, v in _fields(value) if w == 2}
            key, text = entry.get(1, ""), entry.get(2, "")
            if key in ("labels", "xinfer.preprocessing"):
                out[key.replace("xinfer.", "")] = json.loads(text)
        elif number == 7 and wire == 2 and "input_name" not in out:
            initializers = set()
            inputs = []
            for n, w, v in _fields(value):
                if n == 5 and w == 2:  # initializer: TensorProto, name is field 8
                    initializers.update(bytes(x).decode() for m, _, x in _fields(v) if m == 8)
                elif n == 11 and w == 2:  # input: ValueInfoProto, name is field 1
                    inputs.extend(bytes(x).decode() for m, _, x in _fields(v) if m == 1)
            real = [name for name in inputs if name not in initializers]
            if real:
                out["input_name"] = real[0]
    return out


def _xinf(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    meta = header.get("__metadata__", {})
    out = {k: json.loads(meta[k]) for k in ("labels", "preprocessing") if k in meta}
    if "graph" in meta:
        inputs = json.loads(meta["graph"]).get("inputs", [])
        if inputs:
            out["input_name"] = inputs[0]["name"]
    return out


def read_metadata(path):
    with open(path, "rb") as f:
        head = f.read(16)
    # A safetensors file starts with a little-endian u64 header length, then '{'.
    if len(head) > 8 and head[8:9] == b"{":
        return _xinf(path)
    return _onnx(path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: model_metadata.py MODEL.xinf|MODEL.onnx")
    print(json.dumps(read_metadata(sys.argv[1])))
