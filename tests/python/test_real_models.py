"""The real trained MobileNetV2 (TF.js layers, ONNX, the converted .xinf) against the original TF.js outputs."""
import os
import pathlib

import numpy as np
import pytest

import xinfer
from conftest import NSFW_LABELS as LABELS

CACHED_XINF = pathlib.Path(os.path.expanduser("~/.cache/xinfer/nsfw_mobilenet_v2.xinf"))


@pytest.fixture(scope="module")
def golden(shared_data, golden_rows):
    assert len(golden_rows) == 68
    return [(shared_data / "photos" / name, probs) for name, probs in golden_rows]


def photo_01(path):
    """A photo as float NHWC [1, H, W, 3], pixels / 255 (as the golden outputs were made)."""
    return (xinfer.load_image(path).astype(np.float32) / np.float32(255))[None]


def compare(model, golden, nchw=False):
    max_dp, agree = 0.0, 0
    for path, want in golden:
        x = photo_01(path)
        if nchw:
            x = x.transpose(0, 3, 1, 2)  # not contiguous: converted on the way in
        (y,) = model.run(x)
        assert y.shape == (1, 5)
        max_dp = max(max_dp, float(np.abs(y[0] - want).max()))
        agree += int(np.argmax(y[0]) == np.argmax(want))
    return max_dp, agree


def test_tfjs_model_matches_the_original(shared_data, golden):
    m = xinfer.Model(shared_data / "models" / "nsfw_mobilenet_v2_tfjs" / "model.json")
    assert m.inputs[0].shape == (None, 224, 224, 3)
    max_dp, agree = compare(m, golden)
    assert max_dp <= 1e-4, max_dp
    assert agree == len(golden)
    # Through .xinf bytes: bit-identical.
    again = xinfer.Model.from_bytes(m.to_bytes())
    x = photo_01(golden[0][0])
    np.testing.assert_array_equal(again.run(x)[0], m.run(x)[0])


def test_onnx_model_matches_the_original(shared_data, golden):
    m = xinfer.Model(shared_data / "models" / "nsfw_mobilenet_v2.onnx")
    assert m.inputs[0].shape == (1, 3, 224, 224) and m.labels == LABELS
    max_dp, agree = compare(m, golden, nchw=True)
    assert max_dp <= 1e-4, max_dp
    assert agree == len(golden)


def test_batched_uint8_run_and_classify_match_the_original(shared_data, golden):
    """The converted .xinf stores /255 preprocessing: uint8 pixels and classify() give the golden values too."""
    if CACHED_XINF.exists():
        m = xinfer.Model(CACHED_XINF, threads=2)
    else:  # the same conversion: labels and /255 preprocessing from the ONNX file's metadata
        m = xinfer.Model(shared_data / "models" / "nsfw_mobilenet_v2.onnx", threads=2)
    assert m.labels == LABELS
    paths = [p for p, _ in golden[:8]]
    want = np.stack([probs for _, probs in golden[:8]])
    pixels = np.stack([xinfer.load_image(p) for p in paths])  # [8, 224, 224, 3] uint8
    if m.inputs[0].shape[1] == 3:
        pixels = pixels.transpose(0, 3, 1, 2)
    (y,) = m.run(pixels)
    assert np.abs(y - want).max() <= 1e-4
    for path, probs in golden[:8]:
        preds = m.classify(path, top=5)
        got = np.array([next(p.probability for p in preds if p.label == label) for label in LABELS])
        assert np.abs(got - probs).max() <= 1e-4


def test_int8_model_agrees_with_fp32(shared_data, golden):
    m = xinfer.Model(shared_data / "models" / "nsfw_mobilenet_v2_tfjs" / "model.json")
    calibration = [photo_01(p) for p, _ in golden[::4]]  # 17 photos
    held_out = [photo_01(p) for p, _ in golden[1::4]]
    q = xinfer.quantize(m, calibration)
    report = xinfer.validate(m, q, held_out)
    assert report["rows"] == len(held_out)
    assert report["top1_agreement"] >= 0.9
    assert report["mean_abs_dp"] < 0.05
