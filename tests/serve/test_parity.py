"""Parity: every way of asking gives the probabilities `xinfer classify` gives for each bundled photo (within 1e-5),
and requests the dynamic batcher stacks give what they give alone (within 1e-6 relative)."""
import base64
import threading

import numpy as np
import requests

import support as S

M = S.MODEL_NAME


def _from_json(r):
    assert r.status_code == 200, r.text[:300]
    return np.array(r.json()["outputs"][0]["data"])


def _from_binary(r):
    assert r.status_code == 200, r.text[:300]
    return S.parse_binary_response(r)[1][S.OUTPUT]


def _from_predict(r):
    assert r.status_code == 200, r.text[:300]
    p = np.zeros(5)
    for q in r.json()["predictions"]:
        p[q["index"]] = q["probability"]
    return p


def _routes(photo):
    """(name, request kwargs, parser, reference) for every route that answers a photo."""
    json_body = S.json_infer_body(photo.tensor)
    nested_body = S.json_infer_body(photo.tensor, nested=True)
    bin_body, bin_headers = S.fp32_binary_body(photo.tensor, parameters={"binary_data_output": True})
    bytes_body, bytes_headers = S.binary_infer_body([(S.INPUT, "BYTES", [1], S.bytes_element(photo.encoded))])
    b64 = S.compact({"inputs": [{"name": S.INPUT, "shape": [1], "datatype": "BYTES",
                                 "data": [{"b64": base64.b64encode(photo.encoded).decode()}]}]})
    u8_body, u8_headers = S.binary_infer_body([(S.INPUT, "UINT8", [1, 224, 224, 3], photo.pixels.tobytes())])
    infer = S.infer_path()
    return [
        ("infer json flat", infer, {"data": json_body}, _from_json, photo.expected_square),
        ("infer json nested", infer, {"data": nested_body}, _from_json, photo.expected_square),
        ("infer binary", infer, {"data": bin_body, "headers": bin_headers}, _from_binary, photo.expected_square),
        ("infer raw fp32", infer, {"data": photo.tensor.astype("<f4").tobytes(),
                                   "headers": {"Inference-Header-Content-Length": "0"}}, _from_binary,
         photo.expected_square),
        ("infer uint8", infer, {"data": u8_body, "headers": u8_headers}, _from_json, photo.expected_square),
        ("infer bytes binary", infer, {"data": bytes_body, "headers": bytes_headers}, _from_json, photo.expected),
        ("infer bytes b64", infer, {"data": b64}, _from_json, photo.expected),
        ("infer raw image", infer, {"data": photo.encoded, "headers": {"Inference-Header-Content-Length": "0"}},
         _from_binary, photo.expected),
        ("predict multipart", "/predict", {"files": {"file": (photo.path.name, photo.encoded)}}, _from_predict,
         photo.expected),
        ("predict raw", "/predict", {"data": photo.encoded}, _from_predict, photo.expected),
        ("predictions", f"/predictions/{M}", {"data": photo.encoded}, _from_predict, photo.expected),
    ]


def test_every_route_matches_classify(server, http, photos):
    checked = 0
    for photo in photos:
        for name, path, kwargs, parse, reference in _routes(photo):
            got = parse(http.post(server.url(path), **kwargs))
            S.assert_probabilities(got, reference, tolerance=1e-5, what=f"{photo.path.name}: {name}")
            checked += 1
    assert checked == len(photos) * 11


def test_square_png_matches_its_pixels(photos):
    """The 224x224 PNG decodes to exactly the pixels the FP32 requests carry, so both references agree."""
    for p in photos:
        S.assert_probabilities(p.expected_square, S.classify_tsv([p.square_path])[str(p.square_path)],
                               tolerance=0)


def _distinct_inputs(photos, n):
    """n different realistic inputs: the photos, then mirrored, flipped, transposed, dimmed and inverted copies."""
    out = []
    variants = [lambda t: t, lambda t: t[:, :, ::-1, :], lambda t: t[:, ::-1, :, :], lambda t: t[:, ::-1, ::-1, :],
                lambda t: t.transpose(0, 2, 1, 3), lambda t: t * 0.8 + 0.1, lambda t: 1 - t,
                lambda t: (t * 0.8 + 0.1)[:, :, ::-1, :]]
    for v in variants:
        for p in photos:
            out.append(np.ascontiguousarray(v(p.tensor)))
    assert len(out) >= n
    return out[:n]


def _binary_outputs(server, tensors, concurrent):
    results = [None] * len(tensors)
    errors = []
    barrier = threading.Barrier(len(tensors)) if concurrent else None

    def one(i):
        try:
            body, headers = S.fp32_binary_body(tensors[i], parameters={"binary_data_output": True})
            if barrier:
                barrier.wait()
            r = requests.post(server.url(S.infer_path()), data=body, headers=headers, timeout=S.TIMEOUT)
            results[i] = _from_binary(r).copy()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    if concurrent:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(tensors))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for i in range(len(tensors)):
            one(i)
    assert not errors, errors
    return results


def test_batched_equals_unbatched(photos):
    tensors = _distinct_inputs(photos, 16)
    with S.Server("--max-batch", "1") as alone:
        reference = _binary_outputs(alone, tensors, concurrent=False)
        (st,) = requests.get(alone.url("/v2/models/stats")).json()["model_stats"]
        assert {b["batch_size"] for b in st["batch_stats"]} == {1}
    with S.Server("--max-batch", "8", "--max-queue-delay-us", "20000") as batching:
        batched = []
        for half in (tensors[:8], tensors[8:]):
            batched += _binary_outputs(batching, half, concurrent=True)
        (st,) = requests.get(batching.url("/v2/models/stats")).json()["model_stats"]
        sizes = {b["batch_size"]: b["compute_infer"]["count"] for b in st["batch_stats"]}
        assert st["inference_count"] == 16
        assert max(sizes) > 1, f"no request was batched: {sizes}"
        assert st["execution_count"] < 16
    for i, (got, want) in enumerate(zip(batched, reference)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0, err_msg=f"input {i}")
    # The inputs differ, so equal answers are not a coincidence of identical requests.
    assert len({tuple(r.reshape(-1).round(5)) for r in reference}) == len(reference)


def test_multi_image_request_equals_single_requests(server, http, photos):
    batch = np.concatenate([p.tensor for p in photos])
    body, headers = S.fp32_binary_body(batch, parameters={"binary_data_output": True})
    together = _from_binary(http.post(server.url(S.infer_path()), data=body, headers=headers))
    assert together.shape == (len(photos), 5)
    for row, p in zip(together, photos):
        body, headers = S.fp32_binary_body(p.tensor, parameters={"binary_data_output": True})
        alone = _from_binary(http.post(server.url(S.infer_path()), data=body, headers=headers))
        np.testing.assert_allclose(row, alone.reshape(-1), rtol=1e-6, atol=0)
