"""classify() and image decoding on the bundled photos (tests/data/photos)."""
import pathlib

import numpy as np
import pytest

import xinfer
from conftest import PHOTOS


def test_bundled_photos_exist():
    assert len(PHOTOS) >= 5


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.name)
def test_classify_returns_top_predictions_sorted(small_model, photo):
    for top in (1, 3, 10):
        preds = small_model.classify(photo, top=top)
        assert len(preds) == top
        probs = [p.probability for p in preds]
        assert probs == sorted(probs, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probs) and sum(probs) <= 1.0 + 1e-5
        assert len({p.index for p in preds}) == top
        assert all(p.label == f"class {p.index}" for p in preds)  # the built-in model stores no labels
    assert len(small_model.classify(photo, top=50)) == 10  # at most every class
    assert small_model.classify(photo, top=0) == []


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.name)
def test_path_bytes_and_array_agree(small_model, photo):
    def summary(preds):
        return [(p.index, p.probability) for p in preds]

    want = summary(small_model.classify(photo))
    rgb = xinfer.load_image(photo)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.flags.c_contiguous
    np.testing.assert_array_equal(xinfer.load_image(photo.read_bytes()), rgb)
    assert summary(small_model.classify(str(photo))) == want
    assert summary(small_model.classify(photo.read_bytes())) == want
    assert summary(small_model.classify(rgb)) == want
    # Another memory layout of the same pixels: converted, same result.
    planar = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    strided = planar.transpose(1, 2, 0)
    assert not strided.flags.c_contiguous
    assert summary(small_model.classify(strided)) == want
    np.testing.assert_array_equal(small_model.image_input(photo), small_model.image_input(rgb))


def test_prediction_fields_and_repr(small_model):
    (p,) = small_model.classify(PHOTOS[0], top=1)
    assert isinstance(p.index, int) and isinstance(p.label, str) and isinstance(p.probability, float)
    text = repr(p)
    assert text.startswith("Prediction(index=") and p.label in text


def test_image_input_shape_and_values(small_model):
    x = small_model.image_input(PHOTOS[0])
    assert x.shape == (1, 64, 64, 3) and x.dtype == np.float32
    flat = np.full((64, 64, 3), 128, np.uint8)
    pre = small_model.metadata["preprocessing"]
    want = (128 * pre["scale"] - np.array(pre["mean"])) / np.array(pre["std"])
    np.testing.assert_allclose(small_model.image_input(flat)[0, 10, 10], want, rtol=1e-5)


def test_preprocessing_overrides(small_model):
    stored = small_model.metadata["preprocessing"]
    rgb = xinfer.load_image(PHOTOS[0])
    np.testing.assert_array_equal(small_model.image_input(rgb, preprocessing=dict(stored)),
                                  small_model.image_input(rgb))
    raw = small_model.image_input(rgb, preprocessing={"scale": 1.0, "mean": (0, 0, 0), "std": [1, 1, 1]})
    assert raw.min() >= 0 and raw.max() <= 255 and raw.max() > 1
    stretched = small_model.image_input(rgb, preprocessing={"resize": "stretch"})
    assert stretched.shape == (1, 64, 64, 3) and not np.array_equal(stretched, small_model.image_input(rgb))
    for bad in ({"scale": 0.0}, {"std": (1, 0, 1)}, {"mean": (1, 2)}, {"resize": "fill"}, {"width": 0},
                {"colour": 1}, {"scale": "x"}, [("scale", 1.0)]):
        with pytest.raises(xinfer.Error) as info:
            small_model.classify(rgb, preprocessing=bad)
        assert info.value.code == "invalid_argument", bad


def test_labels_and_preprocessing_given_for_a_model_that_stores_none(shared_data, golden_rows):
    """The ONNX model stores its labels but no preprocessing: classify() takes it as an argument (here the
    model's own: pixels / 255, 224 x 224) and then matches the original model's outputs."""
    m = xinfer.Model(shared_data / "models" / "nsfw_mobilenet_v2.onnx")
    assert m.labels == ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"]
    with pytest.raises(xinfer.Error, match="preprocessing=") as info:
        m.classify(PHOTOS[0])
    assert info.value.code == "invalid_argument"
    with pytest.raises(xinfer.Error, match="preprocessing"):
        m.run(np.zeros((1, 3, 224, 224), np.uint8))
    pre = {"scale": 1 / 255}  # width and height: the input's 224 x 224
    for name, want in golden_rows[:4]:
        preds = m.classify(shared_data / "photos" / name, top=5, preprocessing=pre)
        assert sorted(p.label for p in preds) == sorted(m.labels)
        got = {p.label: p.probability for p in preds}
        assert max(abs(got[label] - want[i]) for i, label in enumerate(m.labels)) <= 1e-4


def test_decoding_the_shared_originals(shared_data):
    originals = sorted((shared_data / "photos_orig").glob("*"))
    if not originals:
        pytest.skip("no photos_orig in the shared data")
    for path in originals:
        rgb = xinfer.load_image(pathlib.Path(path))
        assert rgb.ndim == 3 and rgb.shape[2] == 3 and min(rgb.shape[:2]) > 0
