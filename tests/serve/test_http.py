"""HTTP around the protocol: compressed bodies both ways, CORS only with --cors, the JSON access log, $PORT,
health before the models are loaded and with an empty repository."""
import gzip
import json
import shutil
import subprocess
import time

import numpy as np
import pytest
import requests

import support as S

M = S.MODEL_NAME
INFER = S.infer_path()


# ---------------------------------------------------------------------------------------------------- compression

def test_gzip_request_bodies(server, http, photo):
    for body, headers in [(S.json_infer_body(photo.tensor), {}), S.fp32_binary_body(photo.tensor)]:
        headers = dict(headers, **{"Content-Encoding": "gzip"})
        r = http.post(server.url(INFER), data=S.gzipped(body), headers=headers)
        assert r.status_code == 200, r.text[:300]
        S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)
    r = http.post(server.url("/predict"), data=S.gzipped(photo.encoded), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.json()["predictions"][0]["index"] == int(np.argmax(photo.expected))


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_accept_encoding_gzip(server, photo, binary):
    body = S.json_infer_body(photo.tensor, parameters={"binary_data_output": binary})
    plain = requests.post(server.url(INFER), data=body, headers={"Accept-Encoding": "identity"}, stream=True)
    assert "Content-Encoding" not in plain.headers
    plain_bytes = plain.raw.read()
    packed = requests.post(server.url(INFER), data=body, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert packed.status_code == 200
    if packed.headers.get("Content-Encoding") == "gzip":
        wire = packed.raw.read(decode_content=False)
        assert wire != plain_bytes and gzip.decompress(wire) == plain_bytes
        assert int(packed.headers["Content-Length"]) == len(wire)
    else:
        # The binary tensor extension's header names a length in the uncompressed body: a server may leave binary
        # responses uncompressed, but must not compress JSON it was asked to.
        assert binary, "a JSON response was not compressed although the client accepts gzip"
        assert packed.raw.read() == plain_bytes
    if binary:
        header_size = int(packed.headers["Inference-Header-Content-Length"])
        assert json.loads(plain_bytes[:header_size])["outputs"][0]["parameters"]["binary_data_size"] == 20


def test_accept_encoding_absent_means_identity(server):
    r = requests.get(server.url("/metrics"), headers={"Accept-Encoding": ""}, stream=True)
    assert r.status_code == 200 and "Content-Encoding" not in r.headers
    assert r.raw.read().startswith(b"# HELP")


def test_metrics_compressed_when_asked(server):
    r = requests.get(server.url("/metrics"), headers={"Accept-Encoding": "gzip"}, stream=True)
    assert r.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(r.raw.read(decode_content=False)).startswith(b"# HELP")


# ---------------------------------------------------------------------------------------------------- CORS

def test_no_cors_headers_without_the_option(server, http):
    r = http.get(server.url("/v2/health/ready"), headers={"Origin": "https://app.example"})
    assert r.status_code == 200
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    r = http.options(server.url(INFER), headers={"Origin": "https://app.example",
                                                 "Access-Control-Request-Method": "POST"})
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    assert r.status_code >= 400


def test_cors_with_the_option(photo):
    origin = "https://app.example"
    with S.Server("--cors", origin) as server, requests.Session() as http:
        r = http.options(server.url(INFER), headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "Content-Type"})
        assert r.status_code in (200, 204)
        assert r.headers["Access-Control-Allow-Origin"] == origin
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
        allowed = r.headers["Access-Control-Allow-Headers"].lower()
        assert "content-type" in allowed and "inference-header-content-length" in allowed
        body, headers = S.fp32_binary_body(photo.tensor, parameters={"binary_data_output": True})
        r = http.post(server.url(INFER), data=body, headers=dict(headers, Origin=origin))
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == origin
        # A browser may read the binary extension's header only when it is exposed.
        assert "inference-header-content-length" in r.headers.get("Access-Control-Expose-Headers", "").lower()
        r = http.get(server.url("/v2/models/nope"), headers={"Origin": origin})
        assert r.status_code == 404 and r.headers["Access-Control-Allow-Origin"] == origin


# ---------------------------------------------------------------------------------------------------- access log

def test_access_log_one_json_line_per_request(photo):
    with S.Server() as server, S.KeepAlive(server) as client:
        assert server.access_log() == []
        body, headers = S.fp32_binary_body(photo.tensor)
        sent = [
            ("GET", "/v2/health/ready", {}, 200),
            ("POST", INFER, {"data": body, "headers": headers}, 200),
            ("POST", INFER, {"data": b"{"}, 400),
            ("GET", "/v2/models/nope", {}, 404),
            ("POST", "/predict", {"data": photo.encoded}, 200),
            ("GET", "/metrics", {}, 200),
        ]
        for method, path, kwargs, status in sent:
            assert client.request(method, path, **kwargs).status_code == status
        S.wait_for(lambda: len(server.access_log()) >= len(sent), what="the access-log lines")
        time.sleep(0.1)
        lines = server.access_log()
        assert len(lines) == len(sent), lines
        for line, (method, path, kwargs, status) in zip(lines, sent):
            assert line["method"] == method and line["route"] == path and line["status"] == status, line
            assert {"time", "model", "bytes_in", "bytes_out", "queue_us", "compute_us", "total_us"} <= set(line)
            assert line["bytes_out"] > 0
            assert time.strptime(line["time"], "%Y-%m-%dT%H:%M:%SZ")
        infer = lines[1]
        assert infer["model"] == M and infer["bytes_in"] == len(body)
        assert infer["compute_us"] > 0 and infer["total_us"] >= infer["compute_us"]
        assert lines[4]["model"] == M and lines[4]["bytes_in"] == len(photo.encoded)
        assert lines[3]["model"] == "nope"
    # Everything on stderr that is not an access-log line is the server's own messages.
    others = [l for l in server_stderr_lines(server) if not l.startswith("{")]
    assert all(l.startswith("xinfer serve:") for l in others), others


def server_stderr_lines(server):
    return [l for l in server.stderr().splitlines() if l]


def test_no_access_log_option(photo):
    with S.Server("--no-access-log") as server, S.KeepAlive(server) as client:
        S.valid_inference(client, photo)
        client.get("/v2/models/nope")
        time.sleep(0.2)
        assert server.access_log() == []


def test_access_log_duration_of_a_request_refused_before_routing():
    with S.Server() as server:
        requests.get(server.url("/v2/health/live"))
        time.sleep(1)
        start = time.monotonic()
        assert S.raw_first_response(server.port, b"BROKEN\r\n\r\n")[0] == 400
        elapsed_us = (time.monotonic() - start) * 1e6
        S.wait_for(lambda: any(l["method"] == "BROKEN" for l in server.access_log()), what="the log line")
        line = [l for l in server.access_log() if l["method"] == "BROKEN"][0]
        assert line["status"] == 400
        assert line["total_us"] <= elapsed_us, line


# ---------------------------------------------------------------------------------------------------- ports, health

def test_port_environment_variable():
    port = S.free_port()
    with S.Server(port=None, env={"PORT": str(port)}) as server:
        assert server.port == port
        assert requests.get(f"http://127.0.0.1:{port}/v2/health/live").status_code == 200
    # --port wins over $PORT.
    other = S.free_port()
    with S.Server(port=other, env={"PORT": str(port)}) as server:
        assert server.port == other


def test_busy_port_is_refused():
    with S.Server() as first:
        r = subprocess.run([S.CLI, "serve", "--model", str(S.MODEL), "--host", "127.0.0.1", "--port", str(first.port)],
                           capture_output=True, text=True, timeout=60 * S.TIME_SCALE)
        assert r.returncode != 0 and str(first.port) in r.stderr, r.stderr
        assert first.alive() and requests.get(first.url("/v2/health/ready")).status_code == 200


def listen_backlog(port):
    """The listening socket's backlog (ss shows it as Send-Q), or None without ss."""
    if shutil.which("ss") is None:
        return None
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout.split()
    return int(out[2]) if len(out) >= 3 else None


def test_listen_backlog_takes_a_burst_of_connections(server):
    """wrk opens all its connections at once: an accept queue shorter than that (cpp-httplib's default is 5) resets
    some of them after their first request was sent."""
    backlog = listen_backlog(server.port)
    if backlog is None:
        pytest.skip("ss (Debian package iproute2) is not installed")
    assert backlog >= 64, f"listen backlog {backlog}"


def test_bad_port_environment_variable_is_a_usage_error():
    r = subprocess.run([S.CLI, "serve", "--model", str(S.MODEL)], env={"PORT": "http"}, capture_output=True,
                       text=True, timeout=60 * S.TIME_SCALE)
    assert r.returncode == 2 and "PORT" in r.stderr


def test_not_listening_before_the_models_are_loaded():
    """The listener binds only once every model is loaded and warmed up: until then a client cannot connect (or,
    were it to, would be told 503), and once the listening line is out, ready is 200."""
    port = S.free_port()
    models = [f"m{i}={S.MODEL}" for i in range(6)]  # several models: the loading takes a while
    server = S.Server(models=models, port=port, wait=False)
    try:
        early = []
        while "listening on" not in server.stderr():
            assert server.alive(), server.stderr()
            try:
                r = requests.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=5)
                if "listening on" not in server.stderr():
                    early.append(r.status_code)
            except requests.ConnectionError:
                early.append("refused")
            time.sleep(0.005)
        server.wait_listening()
        assert early and all(e in ("refused", 503) for e in early), early
        r = requests.get(server.url("/v2/health/ready"))
        assert r.status_code == 200
        assert requests.get(server.url("/v2/models")).json() == {"models": sorted(f"m{i}" for i in range(6))}
    finally:
        server.close()


def test_empty_repository_is_not_ready(photo):
    with S.Server(models=[f"a={S.MODEL}", f"b={S.MODEL}"]) as server, requests.Session() as http:
        assert http.get(server.url("/v2/health/ready")).status_code == 200
        assert http.post(server.url("/v2/repository/models/a/unload")).status_code == 200
        # A deliberately unloaded model does not make the server unready while another model is there.
        assert http.get(server.url("/v2/health/ready")).status_code == 200
        assert http.post(server.url("/v2/repository/models/b/unload")).status_code == 200
        S.assert_error(http.get(server.url("/v2/health/ready")), 503)
        assert http.get(server.url("/v2/health/live")).json() == {"live": True}
        assert http.post(server.url("/v2/repository/models/b/load")).status_code == 200
        assert http.get(server.url("/v2/health/ready")).status_code == 200


def test_folder_without_models_is_refused(tmp_path):
    r = subprocess.run([S.CLI, "serve", "--model", str(tmp_path), "--port", "0"], capture_output=True, text=True,
                       timeout=60 * S.TIME_SCALE)
    assert r.returncode != 0 and "no model" in r.stderr


def test_model_that_fails_to_load_makes_the_server_unready(tmp_path, photo):
    shutil.copy(S.MODEL, tmp_path / "good.xinf")
    with S.Server(models=[str(tmp_path)]) as server, requests.Session() as http:
        assert http.get(server.url("/v2/models")).json() == {"models": ["good"]}
        (tmp_path / "broken.xinf").write_bytes(b"not a model file " * 100)
        r = http.post(server.url("/v2/repository/models/broken/load"))
        S.assert_error(r, 400, "broken")
        S.assert_error(http.get(server.url("/v2/health/ready")), 503)
        index = {e["name"]: e for e in http.post(server.url("/v2/repository/index")).json()}
        assert index["broken"]["state"] == "UNAVAILABLE" and index["broken"]["reason"]
        assert index["good"]["state"] == "READY"
        S.assert_error(http.post(server.url("/v2/models/broken/infer"), data=S.json_infer_body(photo.tensor)), 503)
        # The good model still serves.
        body, headers = S.fp32_binary_body(photo.tensor)
        r = http.post(server.url("/v2/models/good/infer"), data=body, headers=headers)
        assert r.status_code == 200
        S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)
