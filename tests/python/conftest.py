"""Shared fixtures of the Python module's tests.

The module is imported from $XINFER_PYTHON_DIR (default: build-tests/python in the repository); the real models and
photos from $XINFER_SHARED_DATA (default: ../shared/data beside the repository), and tests that need them skip when
it is absent.
"""
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
MODULE_DIR = pathlib.Path(os.environ.get("XINFER_PYTHON_DIR", REPO / "build-tests" / "python")).resolve()
SHARED_DATA = pathlib.Path(os.environ.get("XINFER_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
PHOTOS = sorted(p for p in (REPO / "tests" / "data" / "photos").iterdir() if p.suffix in (".jpg", ".png"))

# A small built-in MobileNetV2 (seeded random weights, ImageNet preprocessing at 64x64, no labels).
SMALL_MODEL = "builtin:mobilenet_v2?alpha=0.35&size=64&classes=10&seed=3"

sys.dont_write_bytecode = True  # no __pycache__ beside the test files in the source tree
sys.path.insert(0, str(MODULE_DIR))
try:
    import xinfer  # noqa: E402
except ImportError as e:
    raise ImportError(f"cannot import the xinfer module from {MODULE_DIR} (set XINFER_PYTHON_DIR): {e}") from e


def random_nhwc(batch, size=64, seed=0):
    """Uniform [0, 1) float32 NHWC images."""
    return np.random.default_rng(seed).random((batch, size, size, 3), dtype=np.float32)


def random_pixels(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def run_isolated(code, timeout=300):
    """Runs Python code in a child interpreter with the module importable, so that a crash fails one test instead
    of ending the run. Returns the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(MODULE_DIR), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def small_model():
    return xinfer.Model(SMALL_MODEL)


@pytest.fixture(scope="session")
def shared_data():
    if not (SHARED_DATA / "models").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


NSFW_LABELS = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"]


@pytest.fixture(scope="session")
def golden_rows(shared_data):
    """The original TF.js model's probabilities per shared photo: [(file name, float64 array of 5)]."""
    lines = (shared_data / "golden" / "nsfw_mobilenet_v2_tfjs_probs.tsv").read_text().splitlines()
    assert lines[0].split("\t")[1:6] == NSFW_LABELS
    rows = []
    for line in lines[1:]:
        fields = line.split("\t")
        rows.append((fields[0], np.array([float(v) for v in fields[1:6]])))
    return rows
