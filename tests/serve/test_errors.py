"""Every error of docs/serving.md with its status and the body {"error": "..."}, and after each bad request a valid
one answered on the same kept-alive connection. Then the 503s (model not ready, queue full, queue timeout,
draining), the body limit (also for gzip bodies) and nesting limits."""
import base64
import gzip
import json
import signal
import struct
import time
import zlib

import numpy as np
import pytest

import support as S

M = S.MODEL_NAME
INFER = S.infer_path()


def _json(inputs=None, **extra):
    body = {"inputs": inputs if inputs is not None else []}
    body.update(extra)
    return S.compact(body)


def _input(shape=(1, 224, 224, 3), datatype="FP32", data=None, name=S.INPUT, **extra):
    d = {"name": name, "shape": list(shape), "datatype": datatype}
    if data is not None:
        d["data"] = data
    d.update(extra)
    return d


FULL = [0.25] * S.IMAGE_FLOATS  # a well-formed data array for the cases that are wrong elsewhere


def _binary(header_obj, tail):
    head = S.compact(header_obj)
    return head + tail, {"Inference-Header-Content-Length": str(len(head))}


def _binary_input(size, shape=(1, 224, 224, 3), datatype="FP32"):
    return {"inputs": [_input(shape, datatype, parameters={"binary_data_size": size})]}


def _binary_moved_ihcl(delta):
    body, headers = _binary(_binary_input(len(TAIL)), TAIL)
    return body, {"Inference-Header-Content-Length": str(int(headers["Inference-Header-Content-Length"]) + delta)}


TAIL = np.linspace(0, 1, S.IMAGE_FLOATS, dtype="<f4").tobytes()
JPEG_HEADER_ONLY = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def _png_header(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _deep(depth):
    return "[" * depth + "0.5" + "]" * depth


# (id, method, path, body, headers, status, text the error must contain)
CASES = [
    # JSON syntax
    ("malformed-json", "POST", INFER, b'{"inputs": [', {}, 400, "malformed JSON"),
    ("trailing-text", "POST", INFER, b'{"inputs": []} x', {}, 400, "malformed JSON"),
    ("not-an-object", "POST", INFER, b"[1, 2]", {}, 400, "JSON object"),
    ("empty-body", "POST", INFER, b"", {}, 400, None),
    ("nan-literal", "POST", INFER, _json([_input(data="X")]).replace(b'"X"', b"[NaN]"), {}, 400, "malformed JSON"),
    ("invalid-utf8-name", "POST", INFER, _json([_input(data=FULL, name="X")]).replace(b'"X"', b'"in\xe9"'), {}, 400,
     "UTF-8"),
    ("unpaired-surrogate", "POST", INFER, _json([_input(data=FULL, name="X")]).replace(b'"X"', b'"\\ud800"'), {},
     400, "surrogate"),
    ("nested-101", "POST", INFER, ("[" * 101 + "]" * 101).encode(), {}, 400, "deeper than 100"),
    ("nested-parameters", "POST", INFER,
     _json([_input(data=FULL)], parameters="X").replace(b'"X"', ('{"a":' * 120 + "1" + "}" * 120).encode()), {},
     400, "deeper than 100"),
    ("nested-data", "POST", INFER, _json([_input(shape=[1], data="X")]).replace(b'"X"', _deep(150).encode()), {},
     400, "deeper than 100"),
    # the request's structure
    ("no-inputs", "POST", INFER, b"{}", {}, 400, "inputs"),
    ("inputs-empty", "POST", INFER, _json([]), {}, 400, "empty"),
    ("inputs-not-array", "POST", INFER, S.compact({"inputs": {"name": S.INPUT}}), {}, 400, "array"),
    ("input-not-object", "POST", INFER, _json([1]), {}, 400, "object"),
    ("missing-name", "POST", INFER, _json([{"shape": [1], "datatype": "FP32", "data": [1]}]), {}, 400, "name"),
    ("missing-datatype", "POST", INFER, _json([{"name": S.INPUT, "shape": [1], "data": [1]}]), {}, 400, "datatype"),
    ("missing-shape", "POST", INFER, _json([{"name": S.INPUT, "datatype": "FP32", "data": [1]}]), {}, 400, "shape"),
    ("missing-data", "POST", INFER, _json([_input()]), {}, 400, "data"),
    ("data-not-array", "POST", INFER, _json([_input(data=1)]), {}, 400, "data"),
    ("unknown-datatype", "POST", INFER, _json([_input(datatype="FP31", data=FULL)]), {}, 400, "datatype"),
    ("unknown-input", "POST", INFER, _json([_input(name="nope", data=FULL)]), {}, 400, "nope"),
    ("input-twice", "POST", INFER, _json([_input(data=FULL), _input(data=FULL)]), {}, 400, "twice"),
    ("shape-not-array", "POST", INFER, _json([_input(shape="1", data=FULL)]).replace(b'["1"]', b'"1"'), {}, 400,
     "shape"),
    ("shape-float", "POST", INFER, _json([_input(shape=[1.5, 224, 224, 3], data=FULL)]), {}, 400, "integers"),
    # shapes, element counts and datatypes against the model
    ("wrong-rank", "POST", INFER, _json([_input(shape=[224, 224, 3], data=FULL)]), {}, 400, "shape"),
    ("wrong-dim", "POST", INFER, _json([_input(shape=[1, 224, 224, 4], data=[0.5] * (224 * 224 * 4))]), {}, 400,
     "shape"),
    ("zero-batch", "POST", INFER, _json([_input(shape=[0, 224, 224, 3], data=[])]), {}, 400, "shape"),
    ("negative-dim", "POST", INFER, _json([_input(shape=[-1, 224, 224, 3], data=FULL)]), {}, 400, "out of range"),
    ("overflowing-dims", "POST", INFER, _json([_input(shape=[2 ** 40, 2 ** 40, 224, 3], data=[1])]), {}, 400,
     "too many elements"),
    ("dim-2^63", "POST", INFER, _json([_input(shape=[2 ** 63, 224, 224, 3], data=[1])]), {}, 400, None),
    ("too-few-values", "POST", INFER, _json([_input(data=FULL[:-1])]), {}, 400, "values"),
    ("too-many-values", "POST", INFER, _json([_input(data=FULL + [0.5])]), {}, 400, "values"),
    ("strings-for-fp32", "POST", INFER, _json([_input(shape=[1, 1, 1, 3], data=["a", "b", "c"])]), {}, 400,
     "numbers"),
    ("mixed-data", "POST", INFER, _json([_input(data=["a"] + FULL[1:])]), {}, 400, "mixes"),
    ("fp32-out-of-range", "POST", INFER, _json([_input(data=[1e39] + FULL[1:])]), {}, 400, "range"),
    ("bytes-rank-3", "POST", INFER, _json([_input(shape=[1, 1, 1], datatype="BYTES", data=["x"])]), {}, 400,
     "shape"),
    ("bytes-count", "POST", INFER, _json([_input(shape=[2], datatype="BYTES", data=["x"])]), {}, 400, "elements"),
    ("bytes-undecodable", "POST", INFER, _json([_input(shape=[1], datatype="BYTES", data=["not an image"])]), {},
     400, "image"),
    ("bytes-bad-base64", "POST", INFER, _json([_input(shape=[1], datatype="BYTES", data=[{"b64": "!!!"}])]), {},
     400, "base64"),
    ("bytes-empty-image", "POST", INFER, _json([_input(shape=[1], datatype="BYTES", data=[""])]), {}, 400, "empty"),
    ("bytes-no-images", "POST", INFER, _json([_input(shape=[0], datatype="BYTES", data=[])]), {}, 400, None),
    ("bytes-jpeg-header-only", "POST", INFER,
     _json([_input(shape=[1], datatype="BYTES", data=[{"b64": base64.b64encode(JPEG_HEADER_ONLY).decode()}])]), {},
     400, "image"),
    ("bytes-png-too-wide", "POST", INFER,
     _json([_input(shape=[1], datatype="BYTES", data=[{"b64": base64.b64encode(_png_header(20000, 8)).decode()}])]),
     {}, 400, "size"),
    ("bytes-png-too-many-pixels", "POST", INFER,
     _json([_input(shape=[1], datatype="BYTES", data=[{"b64": base64.b64encode(_png_header(9000, 8000)).decode()}])]),
     {}, 400, "size"),
    # parameters and outputs
    ("parameters-not-object", "POST", INFER, _json([_input(data=FULL)], parameters=[1]), {}, 400, "parameters"),
    ("id-not-string", "POST", INFER, _json([_input(data=FULL)], id=7), {}, 400, "id"),
    ("negative-timeout", "POST", INFER, _json([_input(data=FULL)], parameters={"timeout": -1}), {}, 400, "timeout"),
    ("binary-data-output-not-bool", "POST", INFER, _json([_input(data=FULL)], parameters={"binary_data_output": 1}),
     {}, 400, "boolean"),
    ("outputs-not-array", "POST", INFER, _json([_input(data=FULL)], outputs={"name": S.OUTPUT}), {}, 400, "outputs"),
    ("unknown-output", "POST", INFER, _json([_input(data=FULL)], outputs=[{"name": "nope"}]), {}, 400, "nope"),
    ("output-twice", "POST", INFER, _json([_input(data=FULL)], outputs=[{"name": S.OUTPUT}, {"name": S.OUTPUT}]), {},
     400, "twice"),
    ("classification-zero", "POST", INFER,
     _json([_input(data=FULL)], outputs=[{"name": S.OUTPUT, "parameters": {"classification": 0}}]), {}, 400,
     "classification"),
    ("classification-string", "POST", INFER,
     _json([_input(data=FULL)], outputs=[{"name": S.OUTPUT, "parameters": {"classification": "3"}}]), {}, 400,
     "classification"),
    # the binary tensor extension
    ("binary-size-over", "POST", INFER, *_binary(_binary_input(len(TAIL) + 4), TAIL), 400, "binary_data_size"),
    ("binary-size-under", "POST", INFER, *_binary(_binary_input(len(TAIL) - 4), TAIL), 400, None),
    ("binary-size-wrong-count", "POST", INFER, *_binary(_binary_input(len(TAIL) - 4), TAIL[:-4]), 400,
     "binary_data_size"),
    ("binary-size-negative", "POST", INFER, *_binary(_binary_input(-4), TAIL), 400, "binary_data_size"),
    ("binary-size-and-data", "POST", INFER,
     *_binary({"inputs": [_input(data=[1], parameters={"binary_data_size": len(TAIL)})]}, TAIL), 400, "both"),
    ("binary-bytes-overrun", "POST", INFER,
     *_binary(_binary_input(8, shape=[1], datatype="BYTES"), struct.pack("<I", 1000) + b"abcd"), 400, "overruns"),
    ("binary-bytes-truncated-length", "POST", INFER,
     *_binary(_binary_input(6, shape=[2], datatype="BYTES"), struct.pack("<I", 0) + b"ab"), 400, "truncated"),
    ("ihcl-over-body", "POST", INFER, b'{"inputs":[]}', {"Inference-Header-Content-Length": "100"}, 400,
     "Inference-Header-Content-Length"),
    ("ihcl-not-a-number", "POST", INFER, b'{"inputs":[]}', {"Inference-Header-Content-Length": "12a"}, 400,
     "Inference-Header-Content-Length"),
    ("ihcl-negative", "POST", INFER, b'{"inputs":[]}', {"Inference-Header-Content-Length": "-5"}, 400,
     "Inference-Header-Content-Length"),
    ("ihcl-hex", "POST", INFER, b'{"inputs":[]}', {"Inference-Header-Content-Length": "0x10"}, 400,
     "Inference-Header-Content-Length"),
    ("ihcl-huge", "POST", INFER, b'{"inputs":[]}', {"Inference-Header-Content-Length": "9" * 30}, 400,
     "Inference-Header-Content-Length"),
    ("ihcl-cuts-json", "POST", INFER, *_binary_moved_ihcl(-3), 400, "malformed JSON"),
    ("ihcl-into-tensor", "POST", INFER, *_binary_moved_ihcl(+3), 400, "malformed JSON"),
    ("raw-body-wrong-size", "POST", INFER, TAIL[:-4], {"Inference-Header-Content-Length": "0"}, 400, "raw"),
    ("raw-body-empty", "POST", INFER, b"", {"Inference-Header-Content-Length": "0"}, 400, None),
    ("raw-body-not-an-image", "POST", INFER, JPEG_HEADER_ONLY, {"Inference-Header-Content-Length": "0"}, 400,
     "image"),
    ("inference-as-form", "POST", INFER, None, "form", 400, "multipart"),
    # /predict
    ("predict-empty", "POST", "/predict", b"", {}, 400, "image"),
    ("predict-undecodable", "POST", "/predict", b"\x00\x01 definitely not an image", {}, 400, "image"),
    ("predict-top-zero", "POST", "/predict?top=0", None, "jpeg", 400, "top"),
    ("predict-top-negative", "POST", "/predict?top=-3", None, "jpeg", 400, "top"),
    ("predict-top-text", "POST", "/predict?top=three", None, "jpeg", 400, "top"),
    ("predict-unknown-model", "POST", "/predict?model=nope", None, "jpeg", 404, "nope"),
    ("predictions-unknown-model", "POST", "/predictions/nope", None, "jpeg", 404, "nope"),
    # 404: unknown model, version or route
    ("metadata-unknown-model", "GET", "/v2/models/nope", None, {}, 404, "nope"),
    ("ready-unknown-model", "GET", "/v2/models/nope/ready", None, {}, 404, "nope"),
    ("stats-unknown-model", "GET", "/v2/models/nope/stats", None, {}, 404, "nope"),
    ("infer-unknown-model", "POST", "/v2/models/nope/infer", _json([_input(data=FULL)]), {}, 404, "nope"),
    ("infer-unknown-model-binary", "POST", "/v2/models/nope/infer", *_binary(_binary_input(len(TAIL)), TAIL), 404,
     "nope"),
    ("metadata-unknown-version", "GET", f"/v2/models/{M}/versions/2", None, {}, 404, "version"),
    ("ready-unknown-version", "GET", f"/v2/models/{M}/versions/0/ready", None, {}, 404, "version"),
    ("stats-unknown-version", "GET", f"/v2/models/{M}/versions/7/stats", None, {}, 404, "version"),
    ("infer-unknown-version", "POST", f"/v2/models/{M}/versions/2/infer", _json([_input(data=FULL)]), {}, 404,
     "version"),
    ("unknown-route", "GET", "/v3/health/live", None, {}, 404, None),
    ("infer-with-get", "GET", INFER, None, {}, 404, None),
    # repository
    ("load-unknown-model", "POST", "/v2/repository/models/nope/load", b"", {}, 404, "nope"),
    ("unload-unknown-model", "POST", "/v2/repository/models/nope/unload", b"", {}, 404, "nope"),
    ("load-invalid-name", "POST", "/v2/repository/models/a%20b/load", b"", {}, 400, "name"),
    ("index-bad-json", "POST", "/v2/repository/index", b'{"ready": ', {}, 400, "JSON"),
]


def _send(client, photo, method, path, body, headers):
    if headers == "form":
        return client.request(method, path, files={"file": ("x.json", b'{"inputs": []}')})
    if headers == "jpeg":
        return client.request(method, path, data=photo.encoded)
    return client.request(method, path, data=body, headers=headers)


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0]) for c in CASES])
def test_error_then_valid_request_on_the_same_connection(server, photo, case):
    _, method, path, body, headers, status, contains = case
    with S.KeepAlive(server) as client:
        first = S.valid_inference(client, photo)
        r = _send(client, photo, method, path, body, headers)
        S.assert_error(r, status, contains)
        assert r.headers.get("Connection", "").lower() != "close", "the server closed the connection"
        after = S.valid_inference(client, photo)
        assert first.local_port is not None and first.local_port == r.local_port == after.local_port, \
            "the valid request after the error did not travel on the same connection"
    assert server.alive()


def test_error_replies_are_json_even_for_http_level_errors(server):
    """Requests cpp-httplib refuses before routing (a bad request line, an oversized header) get the JSON body."""
    for request in (b"NOT-HTTP\r\n\r\n", b"GET /v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
                    b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"):
        status, headers, body = S.raw_first_response(server.port, request)
        assert 400 <= status < 500 and json.loads(body).keys() == {"error"}, (status, body)


def test_predict_form_without_image_field_keeps_the_connection(server, photo):
    with S.KeepAlive(server) as client:
        first = S.valid_inference(client, photo)
        r = client.post("/predict", files={"other": ("notes.txt", b"hello")})
        S.assert_error(r, 400, "field")
        after = S.valid_inference(client, photo)
        assert first.local_port == r.local_port == after.local_port


@pytest.mark.parametrize("datatype,bad", [("UINT8", 300), ("UINT8", -1), ("UINT8", 0.5), ("INT8", 200),
                                          ("INT32", 0.5), ("BOOL", 2)])
def test_json_values_must_fit_the_datatype(server, http, photo, datatype, bad):
    values = (photo.pixels.astype(np.int64) // 2).reshape(-1).tolist()
    if datatype == "BOOL":
        values = [v > 60 for v in values]
    values[0] = bad
    body = S.compact({"inputs": [_input(datatype=datatype, data=values)]})
    S.assert_error(http.post(server.url(INFER), data=body), 400)


def test_dimension_beyond_64_bits_is_out_of_range(server, http):
    body = _json([_input(shape=[2 ** 64 + 5], data=[0.5])])
    S.assert_error(http.post(server.url(INFER), data=body), 400, "out of range")


# ---------------------------------------------------------------------------------------------------- body limits

def _kept_or_announced(before, error, after):
    """A request body the server could not take in full: the connection carries on, or the error reply announced
    that it closes (never a silent close)."""
    announced = error.headers.get("Connection", "").lower() == "close"
    assert announced or before.local_port == error.local_port == after.local_port


def _valid_under_one_mib(client, photo):
    body, headers = S.fp32_binary_body(photo.tensor)
    assert len(body) < 1 << 20
    return S.valid_inference(client, photo)


def test_body_over_the_limit_is_400(photo):
    with S.Server("--max-body-mb", "1") as server, S.KeepAlive(server) as client:
        body = S.json_infer_body(photo.tensor)
        assert len(body) > 1 << 20
        before = _valid_under_one_mib(client, photo)
        r = client.post(INFER, data=body)
        S.assert_error(r, 400, "--max-body-mb")
        _kept_or_announced(before, r, _valid_under_one_mib(client, photo))
        # /predict has the same limit.
        before = _valid_under_one_mib(client, photo)
        r = client.post("/predict", data=b"\xff\xd8" + b"\x01" * (2 << 20))
        S.assert_error(r, 400, "--max-body-mb")
        _kept_or_announced(before, r, _valid_under_one_mib(client, photo))
        assert server.alive()


def test_gzip_body_whose_decompressed_size_is_over_the_limit_is_400(photo):
    with S.Server("--max-body-mb", "1") as server, S.KeepAlive(server) as client:
        body = S.json_infer_body(photo.tensor)
        packed = S.gzipped(body)
        assert len(packed) < 1 << 20 < len(body)
        before = _valid_under_one_mib(client, photo)
        r = client.post(INFER, data=packed, headers={"Content-Encoding": "gzip"})
        S.assert_error(r, 400, "--max-body-mb")
        _kept_or_announced(before, r, _valid_under_one_mib(client, photo))
        # A small gzip bomb: 64 MiB of digits in 64 kB.
        bomb = gzip.compress(b"0" * (64 << 20), compresslevel=9)
        assert len(bomb) < 1 << 20
        before = _valid_under_one_mib(client, photo)
        r = client.post(INFER, data=bomb, headers={"Content-Encoding": "gzip"})
        S.assert_error(r, 400, "--max-body-mb")
        _kept_or_announced(before, r, _valid_under_one_mib(client, photo))
        # Compressed and under the limit after decompression: served.
        b, h = S.fp32_binary_body(photo.tensor)
        r = client.post(INFER, data=S.gzipped(b), headers=dict(h, **{"Content-Encoding": "gzip"}))
        assert r.status_code == 200, r.text
        S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)
        assert server.alive()


@pytest.mark.parametrize("encoded", [b"\x1f\x8b\x08\x00 not gzip at all", "truncated"])
def test_undecodable_gzip_body_is_400(server, photo, encoded):
    if encoded == "truncated":
        encoded = S.gzipped(S.json_infer_body(photo.tensor))[:-100]
    with S.KeepAlive(server) as client:
        before = S.valid_inference(client, photo)
        r = client.post(INFER, data=encoded, headers={"Content-Encoding": "gzip"})
        S.assert_error(r, 400)
        _kept_or_announced(before, r, S.valid_inference(client, photo))


# ---------------------------------------------------------------------------------------------------- 503s

def test_unloaded_model_is_503_and_metadata_stays(photo):
    with S.Server() as server, S.KeepAlive(server) as client:
        S.valid_inference(client, photo)
        assert client.post(f"/v2/repository/models/{M}/unload").status_code == 200
        S.assert_error(client.get(f"/v2/models/{M}/ready"), 503, "not ready")
        r = client.post(INFER, data=S.json_infer_body(photo.tensor))
        S.assert_error(r, 503, "not ready")
        body, headers = S.fp32_binary_body(photo.tensor)
        r2 = client.post(INFER, data=body, headers=headers)
        S.assert_error(r2, 503, "not ready")
        S.assert_error(client.post("/predict", data=photo.encoded), 503, "not ready")
        S.assert_error(client.get("/v2/health/ready"), 503)
        assert client.get("/v2/health/live").status_code == 200
        meta = client.get(f"/v2/models/{M}")
        assert meta.status_code == 200 and meta.json()["name"] == M
        # The 503s left nothing unread on the connection: a request on it is still understood.
        ready = client.get("/v2/health/live")
        assert ready.status_code == 200 and ready.local_port == r.local_port == r2.local_port
        assert client.post(f"/v2/repository/models/{M}/load").status_code == 200
        after = S.valid_inference(client, photo)
        assert after.local_port == r.local_port


def test_queue_full_is_503(photo):
    # Requests wait (1.5 s) for a fuller batch: two of them fill a queue of two, the third finds it full.
    delay_us = 1_500_000 * (2 if S.SLOW else 1)
    with S.Server("--max-queue", "2", "--max-queue-delay-us", str(delay_us)) as server:
        waiting = [S.Background(server, photo.tensor) for _ in range(2)]
        S.wait_for(lambda: S.metric(server, "xinfer_queue_depth", model=M) == 2, what="two queued requests")
        with S.KeepAlive(server) as client:
            r = client.post(INFER, data=S.json_infer_body(photo.tensor))
            S.assert_error(r, 503, "queue is full")
            for w in waiting:
                w.join()
                assert w.error is None and w.response.status_code == 200
            after = S.valid_inference(client, photo)
            assert after.local_port == r.local_port
        assert S.metric(server, "xinfer_inference_requests_total", model=M, outcome="rejected") == 1
        assert S.metric(server, "xinfer_inference_requests_total", model=M, outcome="success") == 3


@pytest.mark.parametrize("how", ["request parameter", "--queue-timeout-ms"])
def test_queue_timeout_is_503(photo, how):
    # The request would wait for a fuller batch (3 s); its queue timeout (0.2 s) ends the wait with a 503.
    delay_s = 3 * (2 if S.SLOW else 1)
    args = ["--max-queue-delay-us", str(delay_s * 1_000_000)]
    args += ["--queue-timeout-ms", "200"] if how != "request parameter" else []
    params = {"timeout": 200_000} if how == "request parameter" else {}
    with S.Server(*args) as server, S.KeepAlive(server) as client:
        start = time.monotonic()
        r = client.post(INFER, data=S.json_infer_body(photo.tensor, parameters=params))
        elapsed = time.monotonic() - start
        S.assert_error(r, 503, "timed out")
        assert elapsed < 0.8 * delay_s, f"the queue timeout took {elapsed:.2f} s"
        assert S.metric(server, "xinfer_inference_requests_total", model=M, outcome="timeout") == 1
        assert S.metric(server, "xinfer_queue_depth", model=M) == 0


def test_draining_answers_503_and_finishes_queued_requests(photo):
    delay_us = 1_500_000 * (2 if S.SLOW else 1)  # the queued request waits this long for a fuller batch
    with S.Server("--max-queue-delay-us", str(delay_us)) as server, S.KeepAlive(server) as client:
        S.valid_inference(client, photo)  # opens the kept-alive connection
        queued = S.Background(server, photo.tensor)
        S.wait_for(lambda: S.metric(server, "xinfer_queue_depth", model=M) == 1, what="a queued request")
        server.process.send_signal(signal.SIGTERM)
        S.wait_for(lambda: "draining" in server.stderr(), what="the drain to start")
        r = client.post(INFER, data=S.json_infer_body(photo.tensor))
        S.assert_error(r, 503, "shutting down")
        assert r.headers.get("Connection", "").lower() == "close"
        import requests
        for path in ("/v2/health/live", "/v2/health/ready", f"/v2/models/{M}/ready"):
            S.assert_error(requests.get(server.url(path), timeout=S.TIMEOUT), 503, "shutting down")
        queued.join()
        assert queued.error is None and queued.response.status_code == 200
        S.assert_probabilities(queued.response.json()["outputs"][0]["data"], photo.expected_square)
        assert server.process.wait(30 * S.TIME_SCALE) == 0
        assert "stopped" in server.stderr()
