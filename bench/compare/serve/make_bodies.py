#!/usr/bin/python3
"""Writes the three request bodies of the serving benchmark from one photo, preprocessed as the model stores.

    make_bodies.py PHOTO.jpg MODEL.xinf|MODEL.onnx OUT_DIR [--input-name NAME] [--preprocessing JSON]

OUT_DIR/infer.json   the FP32 tensor [1,H,W,3] as Open Inference Protocol JSON (flat "data", %.9g: exact FP32)
OUT_DIR/infer.bin    the same request with the binary tensor extension: JSON header, then the raw little-endian
                     float32 values; OUT_DIR/infer.bin.header-length holds the header's byte count
OUT_DIR/image.jpg    the photo's bytes, unchanged (for POST /predict)
The preprocessing (scale, mean, std, width, height, resize) is the model's stored metadata: the .xinf's
safetensors metadata or the .onnx's metadata_props, unless --preprocessing gives it. The tensor is made as
xinfer's preprocess_rgb8 makes it (bilinear, half-pixel centres, no antialiasing), from the photo decoded by PIL.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_metadata import read_metadata  # noqa: E402


def preprocess(rgb, p):
    """value = (pixel * scale - mean[c]) / std[c] after a bilinear resize (stretch or centre crop)."""
    src_h, src_w, _ = rgb.shape
    w, h = p["width"], p["height"]
    win_x, win_y, win_w, win_h = 0.0, 0.0, float(src_w), float(src_h)
    if p["resize"] == "crop":
        s = min(src_w / w, src_h / h)
        win_w, win_h = w * s, h * s
        win_x, win_y = (src_w - win_w) / 2, (src_h - win_h) / 2
    fy = np.clip(win_y + (np.arange(h) + 0.5) * (win_h / h) - 0.5, 0, src_h - 1)
    fx = np.clip(win_x + (np.arange(w) + 0.5) * (win_w / w) - 0.5, 0, src_w - 1)
    y0, x0 = fy.astype(np.int64), fx.astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, src_h - 1), np.minimum(x0 + 1, src_w - 1)
    wy = (fy - y0).astype(np.float32)[:, None, None]
    wx = (fx - x0).astype(np.float32)[None, :, None]
    src = rgb.astype(np.float32)
    top = src[y0][:, x0] + wx * (src[y0][:, x1] - src[y0][:, x0])
    bottom = src[y1][:, x0] + wx * (src[y1][:, x1] - src[y1][:, x0])
    v = top + wy * (bottom - top)
    scale = np.float32(p["scale"])
    std = np.asarray(p["std"], np.float32)
    mul = scale / std
    add = -np.asarray(p["mean"], np.float32) / std
    return (v * mul + add).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("photo")
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--input-name", default=None, help="the model's input name (default: read from the model)")
    ap.add_argument("--preprocessing", default=None, help="JSON, instead of the model's stored preprocessing")
    a = ap.parse_args()

    meta = read_metadata(a.model)
    pre = json.loads(a.preprocessing) if a.preprocessing else meta.get("preprocessing")
    if pre is None:
        sys.exit(f"make_bodies: {a.model} stores no preprocessing; pass --preprocessing")
    name = a.input_name or meta.get("input_name")
    if not name:
        sys.exit(f"make_bodies: cannot read the input name of {a.model}; pass --input-name")

    rgb = np.asarray(Image.open(a.photo).convert("RGB"))
    x = preprocess(rgb, pre)[None]  # NHWC [1,H,W,3]
    shape = list(x.shape)
    os.makedirs(a.out, exist_ok=True)

    data = ",".join("%.9g" % v for v in x.ravel().tolist())
    with open(os.path.join(a.out, "infer.json"), "w") as f:
        f.write('{"inputs":[{"name":%s,"shape":%s,"datatype":"FP32","data":[%s]}]}'
                % (json.dumps(name), json.dumps(shape), data))

    raw = x.astype("<f4").tobytes()
    header = json.dumps({"inputs": [{"name": name, "shape": shape, "datatype": "FP32",
                                     "parameters": {"binary_data_size": len(raw)}}]},
                        separators=(",", ":")).encode()
    with open(os.path.join(a.out, "infer.bin"), "wb") as f:
        f.write(header + raw)
    with open(os.path.join(a.out, "infer.bin.header-length"), "w") as f:
        f.write(f"{len(header)}\n")

    with open(a.photo, "rb") as src, open(os.path.join(a.out, "image.jpg"), "wb") as dst:
        dst.write(src.read())
    sizes = {n: os.path.getsize(os.path.join(a.out, n)) for n in ("infer.json", "infer.bin", "image.jpg")}
    print(json.dumps({"input": name, "shape": shape, "preprocessing": pre, "bytes": sizes}))


if __name__ == "__main__":
    main()
