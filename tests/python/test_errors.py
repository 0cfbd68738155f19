"""Bad files, arrays, names, images and options raise xinfer.Error with the right code, and nothing crashes."""
import numpy as np
import pytest

import xinfer
from conftest import PHOTOS, SMALL_MODEL, random_nhwc, random_pixels, run_isolated


def expect_error(code, fn, *args, match=None, **kwargs):
    with pytest.raises(xinfer.Error, match=match) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, f"{info.value.code}: {info.value}"
    return info.value


def test_missing_file_is_io(tmp_path):
    e = expect_error("io", xinfer.Model, tmp_path / "no_such_model.xinf")
    assert "no_such_model.xinf" in str(e)


def test_garbage_file_is_invalid_model(tmp_path):
    junk = tmp_path / "junk.xinf"
    junk.write_bytes(b"this is not a model")
    expect_error("invalid_model", xinfer.Model, junk, match="unrecognised")
    expect_error("invalid_model", xinfer.Model.from_bytes, b"this is not a model")
    expect_error("invalid_model", xinfer.Model.from_bytes, b"")


def test_truncated_files_are_invalid_model(small_model, tmp_path):
    data = small_model.to_bytes()
    path = tmp_path / "truncated.xinf"
    path.write_bytes(data[: len(data) // 2])
    expect_error("invalid_model", xinfer.Model, path)
    expect_error("invalid_model", xinfer.Model.from_bytes, data[:-1])
    onnx = small_model.to_onnx()
    expect_error("invalid_model", xinfer.Model.from_bytes, onnx[: len(onnx) // 3])


def test_every_prefix_of_a_model_file_fails_cleanly(small_model):
    """Truncations at many points, in a child process: only xinfer.Error, never a crash or another exception."""
    proc = run_isolated(f"""
        import xinfer
        m = xinfer.Model({SMALL_MODEL!r})
        for data in (m.to_bytes(), m.to_onnx()):
            cuts = sorted(set(list(range(0, 256)) + [len(data) * k // 97 for k in range(97)]))
            for n in cuts:
                try:
                    xinfer.Model.from_bytes(data[:n])
                except xinfer.Error as e:
                    assert e.code in ("invalid_model", "io"), (n, e.code, str(e))
                else:
                    raise AssertionError(f"a prefix of {{n}} bytes loaded")
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_bad_builtin_specs():
    expect_error("invalid_argument", xinfer.Model, "builtin:resnet50", match="unknown built-in")
    expect_error("invalid_argument", xinfer.Model, "builtin:mobilenet_v2?alpha=abc", match="alpha")
    expect_error("invalid_argument", xinfer.Model, "builtin:mobilenet_v2?size=50", match="multiple of 32")


def test_wrong_python_types_are_type_errors():
    with pytest.raises(TypeError):
        xinfer.Model(None)
    with pytest.raises(TypeError):
        xinfer.Model.from_bytes("a str is not bytes")
    with pytest.raises(TypeError):
        xinfer.Model.from_bytes(None)


def test_wrong_shapes_dtypes_and_ranks(small_model):
    m = small_model
    expect_error("shape_mismatch", m.run, random_nhwc(1, size=65), match=r"\[1, 65, 65, 3\]")
    expect_error("shape_mismatch", m.run, np.zeros((64, 64, 3), np.float32))  # rank 3
    expect_error("shape_mismatch", m.run, np.zeros((1, 1, 64, 64, 3), np.float32))  # rank 5
    expect_error("shape_mismatch", m.run, np.zeros((0, 64, 64, 3), np.float32))  # empty batch
    expect_error("shape_mismatch", m.run, np.float32(1.0))  # a scalar
    for dtype in (np.int64, np.int32, np.int8, np.uint16, np.bool_, np.complex64):
        expect_error("invalid_argument", m.run, np.zeros((1, 64, 64, 3), dtype), match=np.dtype(dtype).name)
    expect_error("invalid_argument", m.run, np.array(["a", "b"]))
    expect_error("invalid_argument", m.run, None, match="None")
    expect_error("invalid_argument", m.run, [None])
    expect_error("invalid_argument", m.run, [[1.0, 2.0], [3.0]])  # ragged
    expect_error("invalid_argument", m.run, object())
    # uint8 pixels must be an image batch: rank 4 with 3 channels
    expect_error("shape_mismatch", m.run, np.zeros((1, 64, 64, 4), np.uint8))
    expect_error("shape_mismatch", m.run, np.zeros((64, 64, 3), np.uint8))


def test_wrong_names_and_counts(small_model):
    m = small_model
    x = random_nhwc(1)
    expect_error("invalid_argument", m.run, {"nope": x}, match="'input'")
    expect_error("invalid_argument", m.run, {}, match="missing")
    expect_error("invalid_argument", m.run, {1: x}, match="str")
    expect_error("invalid_argument", m.run, [x, x], match="1 input")
    expect_error("invalid_argument", m.run, [])


def test_bad_threads_and_options(small_model):
    for threads in (0, -1, 257, 100000):
        expect_error("invalid_argument", xinfer.Model, SMALL_MODEL, threads=threads, match="threads")
    x = random_nhwc(1)
    for threads in (-1, 257):
        expect_error("invalid_argument", small_model.run, x, threads=threads, match="threads")
        expect_error("invalid_argument", small_model.plan, None, threads)
    with pytest.raises(TypeError):
        small_model.run(x, threads=2**70)  # not a C int
    expect_error("invalid_argument", xinfer.Model, SMALL_MODEL, kernels="fastest", match="kernels")
    expect_error("invalid_argument", small_model._bench_cpp, x, 0)
    expect_error("invalid_argument", small_model.classify, PHOTOS[0], top=-1)
    expect_error("invalid_argument", small_model.plan, [(1, 64, 64, "3")])
    expect_error("shape_mismatch", small_model.plan, [(1, 64, 64, -3)])


def test_bad_classify_images(small_model, tmp_path):
    m = small_model
    expect_error("io", m.classify, tmp_path / "missing.jpg", match="missing.jpg")
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    expect_error("io", m.classify, garbage)
    expect_error("io", m.classify, b"not an image")
    expect_error("io", m.classify, b"")
    truncated = PHOTOS[0].read_bytes()
    expect_error("io", m.classify, truncated[:100])
    expect_error("io", xinfer.load_image, tmp_path / "missing.png")
    expect_error("invalid_argument", m.classify, np.zeros((8, 8, 3), np.float32), match="uint8")
    expect_error("invalid_argument", m.classify, np.zeros((8, 8), np.uint8))
    expect_error("invalid_argument", m.classify, np.zeros((8, 8, 4), np.uint8))
    expect_error("invalid_argument", m.classify, np.zeros((0, 8, 3), np.uint8))
    expect_error("invalid_argument", m.classify, np.zeros((1, 8, 8, 3), np.uint8))
    expect_error("invalid_argument", m.classify, None)
    expect_error("invalid_argument", m.classify, "bad\0path")


def test_images_need_stored_preprocessing(small_model):
    """A model that stores no preprocessing refuses to guess it for images and uint8 pixels."""
    onnx = pytest.importorskip("onnx")
    proto = onnx.load_from_string(small_model.to_onnx())
    del proto.metadata_props[:]
    plain = xinfer.Model.from_bytes(proto.SerializeToString())
    assert plain.metadata == {"labels": [], "preprocessing": None}
    expect_error("invalid_argument", plain.classify, PHOTOS[0], match="preprocess")
    expect_error("invalid_argument", plain.image_input, PHOTOS[0], match="preprocess")
    expect_error("invalid_argument", plain.run, random_pixels((1, 64, 64, 3)), match="preprocess")
    assert plain.run(random_nhwc(1))[0].shape == (1, 10)


def test_quantize_and_validate_argument_errors(small_model):
    m = small_model
    calib = [random_nhwc(1, seed=s) for s in range(2)]
    expect_error("invalid_argument", xinfer.quantize, m, calib, method="median", match="minmax")
    expect_error("invalid_argument", xinfer.quantize, m, [], match="at least one")
    expect_error("invalid_argument", xinfer.quantize, m, calib[0])  # an array, not a list of samples
    expect_error("shape_mismatch", xinfer.quantize, m, [random_nhwc(1, size=32)])
    expect_error("invalid_argument", xinfer.quantize, m, [random_pixels((1, 64, 64, 3))], match="uint8")
    expect_error("invalid_argument", xinfer.quantize, m, calib, weight_bits=9)
    expect_error("invalid_argument", xinfer.quantize, m, calib, percentile=float("nan"))
    expect_error("invalid_argument", xinfer.quantize, m, calib, auto_fp32=-1)
    expect_error("invalid_argument", xinfer.quantize, m, calib, keep_fp32=["no_such_node"], match="no_such_node")
    expect_error("invalid_argument", xinfer.quantize, m, calib, keep_fp32="Conv1")
    expect_error("invalid_argument", xinfer.quantize, m, calib, threads=0)
    other = xinfer.Model("builtin:mobilenet_v2?alpha=0.35&size=64&classes=7&seed=3")
    expect_error("shape_mismatch", xinfer.validate, m, other, calib, match="differ")
    expect_error("shape_mismatch", xinfer.validate, m, m, [random_nhwc(1, size=96)])
    expect_error("invalid_argument", xinfer.validate, m, m, [], match="at least one")
    expect_error("invalid_argument", m.input_shapes, 0)


def test_the_model_still_runs_after_errors(small_model):
    x = random_nhwc(1, seed=11)
    (before,) = small_model.run(x)
    for bad in (random_nhwc(1, size=96), np.zeros((1, 64, 64, 3), np.int64), {"nope": x}):
        with pytest.raises(xinfer.Error):
            small_model.run(bad)
    np.testing.assert_array_equal(small_model.run(x)[0], before)
