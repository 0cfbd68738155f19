"""The Open Inference Protocol v2 routes as the protocol's own suites check them (Triton's L0_http, KServe's
test_server.py): health, server and model metadata, readiness, inference in JSON (flat and nested data, ids,
parameters, requested outputs, datatypes), Triton's binary tensor and classification extensions, BYTES images,
statistics, POST /predict and /predictions/{m}."""
import base64
import json

import numpy as np
import pytest

import support as S

M = S.MODEL_NAME


def test_health_live_and_ready(server, http):
    r = http.get(server.url("/v2/health/live"))
    assert r.status_code == 200 and r.json() == {"live": True}
    r = http.get(server.url("/v2/health/ready"))
    assert r.status_code == 200 and r.json() == {"ready": True}


def test_server_metadata(server, http):
    for path in ("/v2", "/v2/"):
        r = http.get(server.url(path))
        assert r.status_code == 200
        meta = r.json()
        assert meta["name"] == "xinfer"
        assert isinstance(meta["version"], str) and meta["version"]
        assert set(meta["extensions"]) >= {"binary_tensor_data", "classification", "model_repository", "statistics"}


def test_model_list(server, http):
    r = http.get(server.url("/v2/models"))
    assert r.status_code == 200 and r.json() == {"models": [M]}


@pytest.mark.parametrize("path", [f"/v2/models/{M}", f"/v2/models/{M}/versions/1"])
def test_model_metadata(server, http, path):
    r = http.get(server.url(path))
    assert r.status_code == 200
    meta = r.json()
    assert meta["name"] == M
    assert meta["versions"] == ["1"]
    assert meta["platform"] == "xinfer_xinf"
    assert meta["inputs"] == [{"name": S.INPUT, "datatype": "FP32", "shape": [-1, 224, 224, 3]}]
    assert meta["outputs"] == [{"name": S.OUTPUT, "datatype": "FP32", "shape": [-1, 5]}]


@pytest.mark.parametrize("path", [f"/v2/models/{M}/ready", f"/v2/models/{M}/versions/1/ready"])
def test_model_ready(server, http, path):
    r = http.get(server.url(path))
    assert r.status_code == 200 and r.json() == {"name": M, "ready": True}


# ---------------------------------------------------------------------------------------------------- JSON infer

@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
def test_infer_json(server, http, photos, nested):
    for p in photos:
        r = http.post(server.url(S.infer_path()), data=S.json_infer_body(p.tensor, nested=nested))
        assert r.status_code == 200, r.text[:300]
        assert r.headers["Content-Type"].startswith("application/json")
        assert "Inference-Header-Content-Length" not in r.headers
        out = r.json()
        assert out["model_name"] == M and out["model_version"] == "1"
        assert "id" not in out
        assert len(out["outputs"]) == 1
        o = out["outputs"][0]
        assert o["name"] == S.OUTPUT and o["datatype"] == "FP32" and o["shape"] == [1, 5]
        S.assert_probabilities(o["data"], p.expected_square, what=p.path.name)


def test_infer_versioned_route(server, http, photo):
    r = http.post(server.url(f"/v2/models/{M}/versions/1/infer"), data=S.json_infer_body(photo.tensor))
    assert r.status_code == 200
    assert r.json()["model_version"] == "1"
    S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)


@pytest.mark.parametrize("request_id", ["42", "my-request", "ünïcødé ✓", ""])
def test_infer_echoes_id(server, http, photo, request_id):
    r = http.post(server.url(S.infer_path()), data=S.json_infer_body(photo.tensor, id=request_id))
    assert r.status_code == 200
    assert r.json()["id"] == request_id


def test_infer_accepts_parameters(server, http, photo):
    params = {"priority": 1, "custom": "x", "nested": {"a": [1, 2]}, "timeout": 60_000_000}
    body = json.loads(S.json_infer_body(photo.tensor))
    body["parameters"] = params
    body["inputs"][0]["parameters"] = {"note": "input parameter"}
    body["outputs"] = [{"name": S.OUTPUT, "parameters": {"binary_data": False}}]
    r = http.post(server.url(S.infer_path()), data=S.compact(body))
    assert r.status_code == 200, r.text
    S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)


def test_requested_outputs_and_absent_means_all(server, http, photo):
    named = http.post(server.url(S.infer_path()),
                      data=S.json_infer_body(photo.tensor, outputs=[{"name": S.OUTPUT}])).json()
    every = http.post(server.url(S.infer_path()), data=S.json_infer_body(photo.tensor)).json()
    empty = http.post(server.url(S.infer_path()), data=S.json_infer_body(photo.tensor, outputs=[])).json()
    assert [o["name"] for o in named["outputs"]] == [S.OUTPUT]
    assert named["outputs"] == every["outputs"] == empty["outputs"]


def test_batch_of_several_photos(server, http, photos):
    batch = np.concatenate([p.tensor for p in photos])
    r = http.post(server.url(S.infer_path()), data=S.json_infer_body(batch))
    assert r.status_code == 200
    o = r.json()["outputs"][0]
    assert o["shape"] == [len(photos), 5]
    rows = np.array(o["data"]).reshape(len(photos), 5)
    for row, p in zip(rows, photos):
        S.assert_probabilities(row, p.expected_square, what=p.path.name)


def test_uint8_pixels_are_normalised(server, http, photos):
    """UINT8 into an image input is pixels: the server applies the model's scale (1/255), so the answer is the
    FP32 request's."""
    for p in photos:
        pixels = p.pixels.reshape(1, 224, 224, 3)
        r = http.post(server.url(S.infer_path()), data=S.json_infer_body(pixels, datatype="UINT8"))
        assert r.status_code == 200, r.text[:300]
        S.assert_probabilities(r.json()["outputs"][0]["data"], p.expected_square, what=p.path.name)
        body, headers = S.binary_infer_body([(S.INPUT, "UINT8", pixels.shape, pixels.tobytes())])
        r = http.post(server.url(S.infer_path()), data=body, headers=headers)
        assert r.status_code == 200
        S.assert_probabilities(r.json()["outputs"][0]["data"], p.expected_square, what=p.path.name)


# Other numeric types are values, converted to FP32: the same values in every type give the same answer.
NUMERIC_TYPES = {"INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "UINT16": "<u2", "UINT32": "<u4",
                 "UINT64": "<u8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}


def _small_integers(photo):
    # Pixels / 64 - 1: integers in [-1, 2], exactly representable in every type except the unsigned ones.
    return (photo.pixels.astype(np.int64) // 64 - 1).reshape(1, 224, 224, 3)


@pytest.mark.parametrize("datatype", sorted(NUMERIC_TYPES))
def test_numeric_datatypes_json_and_binary(server, http, photo, datatype):
    values = _small_integers(photo)
    if datatype.startswith("UINT"):
        values = values + 1  # [0, 3]
    reference = http.post(server.url(S.infer_path()), data=S.json_infer_body(values.astype(np.float32)))
    assert reference.status_code == 200
    expected = reference.json()["outputs"][0]["data"]
    r = http.post(server.url(S.infer_path()), data=S.json_infer_body(values, datatype=datatype))
    assert r.status_code == 200, r.text[:300]
    S.assert_probabilities(r.json()["outputs"][0]["data"], expected, tolerance=1e-6)
    raw = np.ascontiguousarray(values.astype(NUMERIC_TYPES[datatype])).tobytes()
    body, headers = S.binary_infer_body([(S.INPUT, datatype, values.shape, raw)])
    r = http.post(server.url(S.infer_path()), data=body, headers=headers)
    assert r.status_code == 200, r.text[:300]
    S.assert_probabilities(r.json()["outputs"][0]["data"], expected, tolerance=1e-6)


def test_bool_datatype(server, http, photo):
    mask = (photo.pixels > 127).reshape(1, 224, 224, 3)
    expected = http.post(server.url(S.infer_path()),
                         data=S.json_infer_body(mask.astype(np.float32))).json()["outputs"][0]["data"]
    r = http.post(server.url(S.infer_path()), data=S.json_infer_body(mask, datatype="BOOL"))
    assert r.status_code == 200, r.text[:300]
    S.assert_probabilities(r.json()["outputs"][0]["data"], expected, tolerance=1e-6)
    body, headers = S.binary_infer_body([(S.INPUT, "BOOL", mask.shape, mask.astype(np.uint8).tobytes())])
    r = http.post(server.url(S.infer_path()), data=body, headers=headers)
    assert r.status_code == 200
    S.assert_probabilities(r.json()["outputs"][0]["data"], expected, tolerance=1e-6)


# ---------------------------------------------------------------------------------------------------- binary tensors

def test_binary_input_json_output(server, http, photos):
    for p in photos:
        body, headers = S.fp32_binary_body(p.tensor)
        r = http.post(server.url(S.infer_path()), data=body, headers=headers)
        assert r.status_code == 200
        # No output asked for binary data: the response is plain JSON.
        assert "Inference-Header-Content-Length" not in r.headers
        S.assert_probabilities(r.json()["outputs"][0]["data"], p.expected_square, what=p.path.name)


@pytest.mark.parametrize("how", ["binary_data_output", "output binary_data"])
def test_binary_output(server, http, photo, how):
    if how == "binary_data_output":
        body = S.json_infer_body(photo.tensor, parameters={"binary_data_output": True})
    else:
        body = S.json_infer_body(photo.tensor, outputs=[{"name": S.OUTPUT, "parameters": {"binary_data": True}}])
    r = http.post(server.url(S.infer_path()), data=body)
    assert r.status_code == 200
    size = int(r.headers["Inference-Header-Content-Length"])
    assert r.headers["Content-Type"] == "application/octet-stream"
    header = json.loads(r.content[:size])
    o = header["outputs"][0]
    assert o["parameters"]["binary_data_size"] == 20 and "data" not in o
    assert len(r.content) == size + 20
    values = np.frombuffer(r.content[size:], dtype="<f4")
    S.assert_probabilities(values, photo.expected_square)


def test_binary_data_false_overrides_request_default(server, http, photo):
    body = S.json_infer_body(photo.tensor, parameters={"binary_data_output": True},
                             outputs=[{"name": S.OUTPUT, "parameters": {"binary_data": False}}])
    r = http.post(server.url(S.infer_path()), data=body)
    assert r.status_code == 200 and "Inference-Header-Content-Length" not in r.headers
    S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)


def test_binary_in_binary_out_with_id(server, http, photos):
    for p in photos:
        body, headers = S.fp32_binary_body(p.tensor, id="bin-1", parameters={"binary_data_output": True})
        r = http.post(server.url(S.infer_path()), data=body, headers=headers)
        assert r.status_code == 200
        header, outputs = S.parse_binary_response(r)
        assert header["id"] == "bin-1" and header["model_name"] == M
        assert outputs[S.OUTPUT].shape == (1, 5)
        S.assert_probabilities(outputs[S.OUTPUT], p.expected_square, what=p.path.name)


def test_binary_and_json_outputs_agree_bit_for_bit(server, http, photo):
    """JSON outputs are written with 9 significant digits: they round-trip to the same FP32 values."""
    body, headers = S.fp32_binary_body(photo.tensor, parameters={"binary_data_output": True})
    _, binary = S.parse_binary_response(http.post(server.url(S.infer_path()), data=body, headers=headers))
    as_json = http.post(server.url(S.infer_path()), data=S.json_infer_body(photo.tensor)).json()
    assert np.array_equal(np.array(as_json["outputs"][0]["data"], dtype=np.float32), binary[S.OUTPUT].reshape(-1))


def test_raw_binary_body_fp32(server, http, photos):
    """Inference-Header-Content-Length: 0: the body is the single input's FP32 tensor; outputs come back binary."""
    for p in photos:
        r = http.post(server.url(S.infer_path()), data=p.tensor.astype("<f4").tobytes(),
                      headers={"Inference-Header-Content-Length": "0"})
        assert r.status_code == 200, r.text[:300]
        header, outputs = S.parse_binary_response(r)
        assert header["outputs"][0]["parameters"]["binary_data_size"] == 20
        S.assert_probabilities(outputs[S.OUTPUT], p.expected_square, what=p.path.name)


@pytest.mark.parametrize("form", ["file", "length-prefixed"])
def test_raw_binary_body_image(server, http, photos, form):
    for p in photos:
        data = p.encoded if form == "file" else S.bytes_element(p.encoded)
        r = http.post(server.url(S.infer_path()), data=data, headers={"Inference-Header-Content-Length": "0"})
        assert r.status_code == 200, r.text[:300]
        _, outputs = S.parse_binary_response(r)
        S.assert_probabilities(outputs[S.OUTPUT], p.expected, what=p.path.name)


# ---------------------------------------------------------------------------------------------------- BYTES images

def test_bytes_images_binary(server, http, photos):
    """A batch of encoded images as one BYTES tensor: each element a 4-byte little-endian length and the file."""
    raw = b"".join(S.bytes_element(p.encoded) for p in photos)
    body, headers = S.binary_infer_body([(S.INPUT, "BYTES", [len(photos)], raw)])
    r = http.post(server.url(S.infer_path()), data=body, headers=headers)
    assert r.status_code == 200, r.text[:300]
    o = r.json()["outputs"][0]
    assert o["shape"] == [len(photos), 5]
    for row, p in zip(np.array(o["data"]).reshape(-1, 5), photos):
        S.assert_probabilities(row, p.expected, what=p.path.name)


def test_bytes_images_json_b64(server, http, photos):
    data = [{"b64": base64.b64encode(p.encoded).decode()} for p in photos]
    body = S.compact({"inputs": [{"name": S.INPUT, "shape": [len(photos), 1], "datatype": "BYTES", "data": data}]})
    r = http.post(server.url(S.infer_path()), data=body)
    assert r.status_code == 200, r.text[:300]
    for row, p in zip(np.array(r.json()["outputs"][0]["data"]).reshape(-1, 5), photos):
        S.assert_probabilities(row, p.expected, what=p.path.name)


def test_bytes_png_equals_uint8_pixels(server, http, photos):
    for p in photos:
        body, headers = S.binary_infer_body([(S.INPUT, "BYTES", [1], S.bytes_element(p.square_png))])
        r = http.post(server.url(S.infer_path()), data=body, headers=headers)
        assert r.status_code == 200
        S.assert_probabilities(r.json()["outputs"][0]["data"], p.expected_square, what=p.path.name)


# ---------------------------------------------------------------------------------------------------- classification

@pytest.mark.parametrize("k", [1, 3, 5, 9])
def test_classification_extension(server, http, photos, k):
    for p in photos:
        body = S.json_infer_body(p.tensor, outputs=[{"name": S.OUTPUT, "parameters": {"classification": k}}])
        r = http.post(server.url(S.infer_path()), data=body)
        assert r.status_code == 200, r.text[:300]
        o = r.json()["outputs"][0]
        top = min(k, 5)
        assert o["datatype"] == "BYTES" and o["shape"] == [1, top]
        order = sorted(range(5), key=lambda i: (-p.expected_square[i], i))[:top]
        assert len(o["data"]) == top
        for entry, index in zip(o["data"], order):
            value, idx, label = entry.split(":")
            assert int(idx) == index and label == S.LABELS[index], (entry, p.expected_square)
            assert len(value.split(".")[1]) == 6
            assert abs(float(value) - p.expected_square[index]) <= 1e-5 + 5e-7


def test_classification_binary_and_batched(server, http, photos):
    batch = np.concatenate([p.tensor for p in photos])
    body = S.json_infer_body(batch, outputs=[{"name": S.OUTPUT,
                                              "parameters": {"classification": 2, "binary_data": True}}])
    r = http.post(server.url(S.infer_path()), data=body)
    assert r.status_code == 200
    header, outputs = S.parse_binary_response(r)
    assert header["outputs"][0]["datatype"] == "BYTES" and header["outputs"][0]["shape"] == [len(photos), 2]
    strings = [s.decode() for s in outputs[S.OUTPUT]]
    assert len(strings) == 2 * len(photos)
    for i, p in enumerate(photos):
        best = int(np.argmax(p.expected_square))
        assert strings[2 * i].split(":")[1:] == [str(best), S.LABELS[best]]


# ---------------------------------------------------------------------------------------------------- /predict

def _check_predictions(body, expected, top):
    assert body["model"] == M
    preds = body["predictions"]
    assert len(preds) == top
    order = sorted(range(5), key=lambda i: (-expected[i], i))[:top]
    assert [q["index"] for q in preds] == order
    for q in preds:
        assert q["label"] == S.LABELS[q["index"]]
        assert abs(q["probability"] - expected[q["index"]]) <= 1e-5


@pytest.mark.parametrize("field", ["file", "image"])
def test_predict_multipart(server, http, photos, field):
    for p in photos:
        r = http.post(server.url("/predict"), files={field: (p.path.name, p.encoded, "image/jpeg")})
        assert r.status_code == 200, r.text
        _check_predictions(r.json(), p.expected, 5)


def test_predict_raw_body_and_top(server, http, photos):
    for p in photos:
        for top in (1, 2, 5):
            r = http.post(server.url(f"/predict?top={top}"), data=p.encoded,
                          headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 200, r.text
            _check_predictions(r.json(), p.expected, top)
            assert r.json()["time_ms"] > 0
    r = http.post(server.url("/predict?top=50"), data=photos[0].encoded)
    assert len(r.json()["predictions"]) == 5


def test_predict_names_the_model(server, http, photo):
    r = http.post(server.url(f"/predict?model={M}&top=1"), data=photo.encoded)
    assert r.status_code == 200
    _check_predictions(r.json(), photo.expected, 1)


@pytest.mark.parametrize("suffix", ["", "/1"])
def test_predictions_route(server, http, photos, suffix):
    for p in photos:
        r = http.post(server.url(f"/predictions/{M}{suffix}"), data=p.encoded)
        assert r.status_code == 200, r.text
        _check_predictions(r.json(), p.expected, 5)
        r = http.post(server.url(f"/predictions/{M}{suffix}"), files={"data": (p.path.name, p.encoded)})
        assert r.status_code == 200, r.text
        _check_predictions(r.json(), p.expected, 5)


# ---------------------------------------------------------------------------------------------------- statistics

def _stats(http, server, path):
    r = http.get(server.url(path))
    assert r.status_code == 200, r.text
    return r.json()["model_stats"]


def test_statistics_count_requests_and_batches():
    with S.Server() as server, S.KeepAlive(server) as client:
        before = _stats(client.session, server, "/v2/models/stats")
        assert [s["name"] for s in before] == [M]
        assert before[0]["inference_count"] == 0 and before[0]["execution_count"] == 0
        body3 = S.json_infer_body(np.concatenate([np.full((1, 224, 224, 3), v, np.float32) for v in (0.2, 0.5, 0.8)]))
        for _ in range(2):
            assert client.post(S.infer_path(), data=body3).status_code == 200
        assert client.post(S.infer_path(), data=b"{").status_code == 400
        for path in (f"/v2/models/{M}/stats", f"/v2/models/{M}/versions/1/stats"):
            (st,) = _stats(client.session, server, path)
            assert st["name"] == M and st["version"] == "1"
            assert st["inference_count"] == 6 and st["execution_count"] == 2
            inf = st["inference_stats"]
            assert inf["success"]["count"] == 2 and inf["fail"]["count"] == 1
            for phase in ("queue", "compute_input", "compute_infer", "compute_output"):
                assert inf[phase]["count"] == 2 and inf[phase]["ns"] > 0, phase
            assert inf["success"]["ns"] >= inf["compute_infer"]["ns"]
            assert [b["batch_size"] for b in st["batch_stats"]] == [3]
            assert st["batch_stats"][0]["compute_infer"]["count"] == 2
            assert st["last_inference"] > 1.6e12  # milliseconds since the epoch
        assert _stats(client.session, server, "/v2/models/stats")[0]["inference_count"] == 6
