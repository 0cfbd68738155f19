"""Post-training int8 quantization and the fp32-vs-int8 report."""
import numpy as np
import pytest

import xinfer
from conftest import SMALL_MODEL, random_nhwc


@pytest.fixture(scope="module")
def calibration():
    return [random_nhwc(2, seed=40 + s) for s in range(4)]


@pytest.fixture(scope="module")
def int8_model(small_model, calibration):
    return xinfer.quantize(small_model, calibration)


def test_quantized_model_runs_and_round_trips(small_model, int8_model, tmp_path):
    x = random_nhwc(3, seed=50)
    (y8,) = int8_model.run(x)
    (y32,) = small_model.run(x)
    assert y8.shape == y32.shape == (3, 10)
    assert int8_model.inputs[0].shape == small_model.inputs[0].shape
    assert int8_model.metadata == small_model.metadata
    assert int8_model.weight_bytes < small_model.weight_bytes
    np.testing.assert_allclose(y8.sum(axis=1), 1.0, rtol=1e-5)
    assert np.abs(y8 - y32).max() < 0.5  # int8 close to fp32, not equal
    path = tmp_path / "int8.xinf"
    int8_model.save(path)
    for reloaded in (xinfer.Model(path), xinfer.Model.from_bytes(int8_model.to_bytes())):
        np.testing.assert_array_equal(reloaded.run(x)[0], y8)
    assert any(layer["output_dtype"] == "int8" for layer in int8_model.plan()["layers"])


def test_quantize_options(small_model, calibration, int8_model):
    x = random_nhwc(1, seed=51)
    for method in ("minmax", "percentile", "entropy", "mse"):
        q = xinfer.quantize(small_model, calibration, method=method, percentile=99.9, threads=2)
        assert q.threads == 2
        assert q.run(x)[0].shape == (1, 10)
    default = int8_model.run(x)[0]
    # The same options give the same model; keep_fp32 and weight_bits change it.
    np.testing.assert_array_equal(xinfer.quantize(small_model, calibration).run(x)[0], default)
    first_conv = small_model.plan()["layers"][0]["name"]
    kept = xinfer.quantize(small_model, calibration, keep_fp32={first_conv}, auto_fp32=1, bias_correction=False,
                           weight_bits=7)
    assert kept.plan()["layers"][0]["output_dtype"] == "float32"
    assert not np.array_equal(kept.run(x)[0], default)


def test_calibration_as_lists_and_dicts_is_the_same(small_model, calibration, int8_model):
    x = random_nhwc(1, seed=52)
    want = int8_model.run(x)[0]
    as_lists = xinfer.quantize(small_model, [[c] for c in calibration])
    as_dicts = xinfer.quantize(small_model, tuple({"input": c.astype(np.float64)} for c in calibration))
    np.testing.assert_array_equal(as_lists.run(x)[0], want)
    np.testing.assert_array_equal(as_dicts.run(x)[0], want)


def test_validate_report(small_model, int8_model):
    held_out = [random_nhwc(2, seed=60 + s) for s in range(3)]
    report = xinfer.validate(small_model, int8_model, held_out)
    assert set(report) == {"top1_agreement", "mean_abs_dp", "max_abs_dp", "samples", "rows", "layers"}
    assert 0.0 <= report["top1_agreement"] <= 1.0
    assert report["samples"] == 3 and report["rows"] == 6
    assert 0.0 <= report["mean_abs_dp"] <= report["max_abs_dp"] <= 1.0
    assert report["layers"]
    for layer in report["layers"]:
        assert set(layer) == {"value", "node", "op", "sqnr_db", "cosine", "saturation"}
        assert layer["op"].startswith("Q")
        assert -1.0 <= layer["cosine"] <= 1.0 + 1e-9 and 0.0 <= layer["saturation"] <= 1.0
    assert np.median([layer["sqnr_db"] for layer in report["layers"]]) > 10
    same = xinfer.validate(small_model, small_model, held_out)
    assert same["top1_agreement"] == 1.0 and same["max_abs_dp"] == 0.0


def test_int8_model_exports_to_onnx(int8_model):
    onnx = int8_model.to_onnx()
    assert b"QuantizeLinear" in onnx and b"DequantizeLinear" in onnx
    assert len(int8_model.to_onnx(exact_int8_add=True)) > 0


def test_quantized_model_is_usable_from_threads_like_any_model(int8_model):
    import threading

    x = random_nhwc(2, seed=70)
    want = int8_model.run(x)[0]
    results = []
    threads = [threading.Thread(target=lambda: results.append(int8_model.run(x)[0])) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 4 and all(np.array_equal(r, want) for r in results)


def test_quantize_uses_the_source_kernels():
    ref = xinfer.Model(SMALL_MODEL, kernels="reference")
    q = xinfer.quantize(ref, [random_nhwc(1, seed=80)], method="minmax")
    assert q.kernels == "reference"
