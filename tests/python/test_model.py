"""Loading, describing and running models: the input forms, conversions, zero-copy views, batches, round trips."""
import os
import pickle

import numpy as np
import pytest

import xinfer
from conftest import SMALL_MODEL, random_nhwc, random_pixels


def test_version_and_error_type():
    assert isinstance(xinfer.__version__, str) and xinfer.__version__.count(".") == 2
    assert issubclass(xinfer.Error, RuntimeError)
    e = xinfer.Error("message", "io")
    assert str(e) == "message" and e.code == "io"
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is xinfer.Error and str(copy) == "message" and copy.code == "io"


def test_inputs_outputs_and_metadata(small_model):
    m = small_model
    assert len(m.inputs) == 1 and len(m.outputs) == 1
    x, y = m.inputs[0], m.outputs[0]
    assert (x.name, x.shape, x.dtype) == ("input", (None, 64, 64, 3), "float32")
    assert (y.name, y.shape, y.dtype) == ("probabilities", (None, 10), "float32")
    assert len(x.dim_names) == 4 and all(n is None or isinstance(n, str) for n in x.dim_names)
    assert "input" in repr(x) and "(None, 64, 64, 3)" in repr(x)
    assert m.threads == 1 and m.kernels == "optimized"
    assert m.labels == [] and m.metadata["labels"] == []
    pre = m.metadata["preprocessing"]
    assert (pre["width"], pre["height"], pre["resize"]) == (64, 64, "crop")
    assert pre["scale"] == pytest.approx(1 / 255)
    assert m.macs() > 0 and m.macs([(4, 64, 64, 3)]) == 4 * m.macs()
    assert m.input_shapes(3) == [(3, 64, 64, 3)]
    assert m.weight_bytes > 0
    plan = m.plan([(2, 64, 64, 3)])
    assert plan["output_shapes"] == [(2, 10)]
    assert plan["macs"] == 2 * m.macs() and plan["arena_bytes"] > 0 and len(plan["layers"]) > 5
    assert "probabilities" in repr(m)


def test_run_forms_agree_bit_for_bit(small_model):
    m = small_model
    x = random_nhwc(2, seed=1)
    (single,) = m.run(x)
    (listed,) = m.run([x])
    (tupled,) = m.run((x,))
    named = m.run({"input": x})
    assert isinstance(single, np.ndarray) and single.dtype == np.float32 and single.shape == (2, 10)
    assert single.flags.c_contiguous and single.flags.writeable
    assert list(named) == ["probabilities"]
    for other in (listed, tupled, named["probabilities"]):
        np.testing.assert_array_equal(single, other)
    np.testing.assert_allclose(single.sum(axis=1), 1.0, rtol=1e-5)  # the built-in model ends in a softmax


def test_zero_copy_view_of_a_bigger_array(small_model):
    big = random_nhwc(5, seed=2)
    view = big[1:4]  # C-contiguous float32 at an offset into `big`
    assert view.flags.c_contiguous and not view.flags.owndata
    np.testing.assert_array_equal(small_model.run(view)[0], small_model.run(view.copy())[0])
    # A read-only buffer is fine too: inputs are never written.
    frozen = big.copy()
    frozen.setflags(write=False)
    np.testing.assert_array_equal(small_model.run(frozen)[0], small_model.run(big)[0])
    np.testing.assert_array_equal(big[1:4], view)  # the input is left as it was


def test_non_contiguous_and_other_float_types_are_converted(small_model):
    m = small_model
    x = random_nhwc(2, seed=3)
    (want,) = m.run(x)
    nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    strided = nchw.transpose(0, 2, 3, 1)  # the same values, not C-contiguous
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(m.run(strided)[0], want)
    np.testing.assert_array_equal(m.run(x.astype(np.float64))[0], want)  # float64 -> float32 is exact here
    np.testing.assert_array_equal(m.run(x.astype(">f4"))[0], want)      # big-endian float32
    fortran = np.asfortranarray(x)
    np.testing.assert_array_equal(m.run(fortran)[0], want)
    np.testing.assert_array_equal(m.run([x.tolist()])[0], want)  # nested lists (float64) as the one input
    half = x.astype(np.float16)
    np.testing.assert_array_equal(m.run(half)[0], m.run(half.astype(np.float32))[0])


def test_batch_of_three_equals_three_single_runs(small_model):
    x = random_nhwc(3, seed=4)
    (batch,) = small_model.run(x)
    for i in range(3):
        (one,) = small_model.run(x[i:i + 1])
        np.testing.assert_allclose(one[0], batch[i], rtol=1e-5, atol=1e-7)
    (two_threads,) = small_model.run(x, threads=2)
    np.testing.assert_allclose(two_threads, batch, rtol=1e-5, atol=1e-7)


def test_uint8_pixels_are_normalised_like_image_input(small_model):
    m = small_model
    rgb = random_pixels((64, 64, 3), seed=5)
    want = m.run(m.image_input(rgb))[0]
    np.testing.assert_array_equal(m.run(rgb[None])[0], want)
    batch = np.stack([rgb, rgb[::-1]])
    got = m.run(batch)[0]
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], m.run(m.image_input(np.ascontiguousarray(rgb[::-1])))[0][0])


def test_reference_kernels_agree_with_optimized():
    x = random_nhwc(1, seed=6)
    fast = xinfer.Model(SMALL_MODEL)
    ref = xinfer.Model(SMALL_MODEL, kernels="reference")
    assert ref.kernels == "reference"
    np.testing.assert_allclose(ref.run(x)[0], fast.run(x)[0], rtol=1e-4, atol=1e-6)


def test_save_load_from_bytes_pickle_are_bit_identical(small_model, tmp_path):
    x = random_nhwc(2, seed=7)
    (want,) = small_model.run(x)
    path = tmp_path / "small.xinf"
    small_model.save(path)  # os.PathLike
    data = small_model.to_bytes()
    assert isinstance(data, bytes) and path.read_bytes() == data
    for loaded in (xinfer.Model(path), xinfer.Model(str(path), threads=2), xinfer.Model.from_bytes(data),
                   xinfer.Model.from_bytes(bytearray(data)), xinfer.Model.from_bytes(memoryview(data)),
                   pickle.loads(pickle.dumps(small_model))):
        np.testing.assert_array_equal(loaded.run(x)[0], want)
        assert loaded.metadata == small_model.metadata
    assert xinfer.Model(path, threads=2).threads == 2


def test_to_onnx_reloads(small_model, tmp_path):
    onnx = small_model.to_onnx()
    assert isinstance(onnx, bytes) and len(onnx) > 1000
    reloaded = xinfer.Model.from_bytes(onnx)
    x = random_nhwc(1, seed=8)
    np.testing.assert_allclose(reloaded.run(x)[0], small_model.run(x)[0], rtol=1e-4, atol=1e-6)
    (tmp_path / "small.onnx").write_bytes(onnx)
    assert xinfer.Model(os.fspath(tmp_path / "small.onnx")).inputs[0].shape[1:] == (64, 64, 3)


def test_bench_cpp_helper(small_model):
    x = random_nhwc(1, seed=9)
    seconds = small_model._bench_cpp(x, 3)
    assert len(seconds) == 3 and all(s > 0 for s in seconds)
    assert len(small_model._bench_cpp({"input": x}, runs=2, threads=2)) == 2
