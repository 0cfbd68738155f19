"""Fixtures of the serving suite: the CLI under test, a shared server, the photos and their reference outputs.

Environment: XINFER_CLI (the xinfer binary, required), XINFER_PHOTOS (default tests/data/photos), XINFER_MODEL
(default ~/.cache/xinfer/nsfw_mobilenet_v2.xinf), XINFER_SERVE_SLOW=1 (sanitizer builds: longer timeouts),
XINFER_SERVE_QUICK=1 (no load tests, a shorter robustness run, parity on two photos). tests/serve/run.sh sets them."""
import pytest
import requests

import support as S


def pytest_configure(config):
    config.addinivalue_line("markers", "load: sustained load with wrk (skipped by XINFER_SERVE_QUICK=1)")
    if not S.CLI:
        raise pytest.UsageError("set XINFER_CLI to the xinfer binary (tests/serve/run.sh does)")
    if not S.MODEL.is_file():
        raise pytest.UsageError(f"no model at {S.MODEL}: run scripts/fetch_model.sh XINFER_CLI first")


def pytest_sessionfinish(session, exitstatus):
    S.stop_all()


@pytest.fixture(scope="session")
def server():
    """The default server, shared by the tests that neither reconfigure nor disturb it."""
    with S.Server() as s:
        yield s


@pytest.fixture
def http():
    """A session that keeps its connection alive and asks for uncompressed responses unless a test says so."""
    with requests.Session() as s:
        s.headers["Accept-Encoding"] = "identity"
        yield s


class Photo:
    def __init__(self, path, square_path):
        self.path = path
        self.encoded = path.read_bytes()
        self.pixels = S.load_square_pixels(path)  # 224x224 RGB8
        self.square_path = square_path              # those pixels as a PNG file
        self.square_png = square_path.read_bytes()
        self.tensor = S.to_model_input(self.pixels)  # FP32 [1, 224, 224, 3], what the server computes from them
        self.expected = None                         # `xinfer classify` of the photo
        self.expected_square = None                  # `xinfer classify` of the 224x224 PNG

    def __repr__(self):
        return self.path.name


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    """Every bundled photo with its probabilities from `xinfer classify` (the reference of the parity tests).
    The 224x224 PNG of each photo lets FP32 and UINT8 requests carry exactly the pixels the server would decode."""
    folder = tmp_path_factory.mktemp("square")
    out = []
    paths = S.photo_paths()
    for path in paths[:2] if S.QUICK else paths:  # sanitizer builds: inference is ~10x slower
        square = folder / (path.stem + ".png")
        square.write_bytes(S.png_bytes(S.load_square_pixels(path)))
        out.append(Photo(path, square))
    assert len(out) >= (2 if S.QUICK else 3), f"expected the bundled photos in {S.PHOTOS}"
    reference = S.classify_tsv([p.path for p in out] + [p.square_path for p in out])
    for p in out:
        p.expected = reference[str(p.path)]
        p.expected_square = reference[str(p.square_path)]
    # The photos differ from one another, so a server answering one photo's result for another cannot pass.
    assert len({tuple(p.expected_square.round(6)) for p in out}) == len(out)
    return out


@pytest.fixture(scope="session")
def photo(photos):
    return photos[0]

