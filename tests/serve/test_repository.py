"""Triton's model repository extension: the index, load (also of a model found later in a --model folder), unload,
and both while inference requests run (none fails except with the documented 503)."""
import shutil
import threading
import time

import requests

import support as S

M = S.MODEL_NAME


def _index(http, server, body=None):
    r = http.post(server.url("/v2/repository/index"), data=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_index_load_unload(photo):
    with S.Server(models=[f"a={S.MODEL}", f"b={S.MODEL}"]) as server, requests.Session() as http:
        assert _index(http, server) == [
            {"name": "a", "version": "1", "state": "READY", "reason": ""},
            {"name": "b", "version": "1", "state": "READY", "reason": ""},
        ]
        r = http.post(server.url("/v2/repository/models/a/unload"))
        assert r.status_code == 200 and r.json() == {}
        index = {e["name"]: e for e in _index(http, server)}
        assert index["a"]["state"] == "UNAVAILABLE" and index["b"]["state"] == "READY"
        assert [e["name"] for e in _index(http, server, b'{"ready": true}')] == ["b"]
        assert len(_index(http, server, b'{"ready": false}')) == 2
        S.assert_error(http.get(server.url("/v2/models/a/ready")), 503)
        assert http.get(server.url("/v2/models/b/ready")).status_code == 200
        # Unloading twice is harmless; loading brings it back (Triton's cascading form too).
        assert http.post(server.url("/v2/repository/models/a/unload")).status_code == 200
        assert http.post(server.url("/v2/repository/models/a/load/cascading")).status_code == 200
        assert all(e["state"] == "READY" for e in _index(http, server))
        body, headers = S.fp32_binary_body(photo.tensor)
        for name in ("a", "b"):
            r = http.post(server.url(f"/v2/models/{name}/infer"), data=body, headers=headers)
            assert r.status_code == 200 and r.json()["model_name"] == name
            S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)
        # A reload of a ready model swaps it in place.
        assert http.post(server.url("/v2/repository/models/b/load")).status_code == 200
        assert http.post(server.url("/v2/models/b/infer"), data=body, headers=headers).status_code == 200


def test_load_a_model_added_to_the_folder(tmp_path, photo):
    shutil.copy(S.MODEL, tmp_path / "first.xinf")
    with S.Server(models=[str(tmp_path)]) as server, requests.Session() as http:
        S.assert_error(http.post(server.url("/v2/repository/models/second/load")), 404, "second")
        shutil.copy(S.MODEL, tmp_path / "second.xinf")
        assert http.post(server.url("/v2/repository/models/second/load")).status_code == 200
        assert [e["name"] for e in _index(http, server)] == ["first", "second"]
        r = http.post(server.url("/v2/models/second/infer"), data=S.json_infer_body(photo.tensor))
        assert r.status_code == 200
        S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)
        assert http.get(server.url("/v2/models/second")).json()["name"] == "second"


def test_load_and_unload_while_requests_run(photos):
    """Clients send requests without pause while the model is unloaded and loaded again, five times: every
    request gets 200 with the right answer or, while the model is unloaded, 503 'is not ready'."""
    seconds = 4
    results, errors = [], []
    stop = threading.Event()
    with S.Server() as server:
        def client(i):
            photo = photos[i % len(photos)]
            body, headers = S.fp32_binary_body(photo.tensor)
            with requests.Session() as http:
                while not stop.is_set():
                    try:
                        r = http.post(server.url(S.infer_path()), data=body, headers=headers, timeout=S.TIMEOUT)
                    except requests.RequestException as e:
                        errors.append(repr(e))
                        continue
                    if r.status_code == 200:
                        try:
                            S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)
                        except AssertionError as e:
                            errors.append(f"wrong answer: {e}")
                    results.append(r)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        cycles = 0
        statuses = []
        try:
            with requests.Session() as admin:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline or cycles < 5:
                    time.sleep(0.1)
                    statuses.append(admin.post(server.url(f"/v2/repository/models/{M}/unload")).status_code)
                    time.sleep(0.1)
                    # Metadata stays available while the model is unloaded.
                    statuses.append(admin.get(server.url(f"/v2/models/{M}")).status_code)
                    statuses.append(admin.post(server.url(f"/v2/repository/models/{M}/load")).status_code)
                    cycles += 1
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert set(statuses) == {200}, statuses
        assert not errors, errors[:5]
        codes = [r.status_code for r in results]
        assert codes.count(200) > 10 and codes.count(503) > 0, (codes.count(200), codes.count(503))
        for r in results:
            if r.status_code != 200:
                S.assert_error(r, 503, "is not ready")
        assert server.alive()
        assert requests.get(server.url("/v2/health/ready")).status_code == 200

