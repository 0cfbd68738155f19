"""Shared by the serving tests: starting `xinfer serve` on a free loopback port, the bundled photos and their
reference probabilities from `xinfer classify`, and builders for Open Inference Protocol requests."""
import gzip
import io
import json
import os
import re
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image

HERE = Path(__file__).resolve().parent
CLI = os.environ.get("XINFER_CLI", "")
PHOTOS = Path(os.environ.get("XINFER_PHOTOS", HERE.parent / "data" / "photos"))
MODEL = Path(os.environ.get("XINFER_MODEL", Path.home() / ".cache" / "xinfer" / "nsfw_mobilenet_v2.xinf"))
MODEL_NAME = MODEL.stem
INPUT = "input_1"
OUTPUT = "dense_3"
LABELS = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"]
SIDE = 224
IMAGE_FLOATS = SIDE * SIDE * 3
SLOW = os.environ.get("XINFER_SERVE_SLOW") == "1"  # sanitizer builds: inference is about 10x slower
QUICK = os.environ.get("XINFER_SERVE_QUICK") == "1"
TIME_SCALE = 10 if SLOW else 1
TIMEOUT = 30 * TIME_SCALE  # seconds for one HTTP request


def photo_paths():
    return sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


# ---------------------------------------------------------------------------------------------------------- server

_running = []  # every server started, ended by conftest even when a test fails


class Server:
    """One `xinfer serve` process on 127.0.0.1, its stderr in a file (the access log and the listening line)."""

    def __init__(self, *args, models=None, env=None, port=0, threads=2, wait=True):
        self.args = list(args)
        models = models if models is not None else [str(MODEL)]
        command = [CLI, "serve", "--host", "127.0.0.1", "--threads", str(threads)]
        for m in models:
            command += ["--model", m]
        if port is not None:
            command += ["--port", str(port)]
        command += self.args
        self.log_file = tempfile.NamedTemporaryFile(prefix="xinfer-serve-", suffix=".log", delete=False)
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self.log_file, env=full_env)
        _running.append(self)
        self.port = None
        self.final_log = None  # stderr, kept once the process is gone
        if wait:
            self.wait_listening()

    def wait_listening(self, timeout=60 * TIME_SCALE):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"listening on http://[^:\s]+:(\d+)", self.stderr())
            if m:
                self.port = int(m.group(1))
                return self.port
            if self.process.poll() is not None:
                raise RuntimeError(f"xinfer serve exited with {self.process.returncode}:\n{self.stderr()}")
            time.sleep(0.02)
        raise RuntimeError(f"xinfer serve did not start listening within {timeout} s:\n{self.stderr()}")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base + path

    def stderr(self):
        if self.final_log is not None:
            return self.final_log
        with open(self.log_file.name, "r", encoding="utf-8", errors="replace") as f:
            return f.read()

    def access_log(self):
        """The JSON access-log lines written so far (complete lines only)."""
        text = self.stderr()
        complete = text[:text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line.startswith("{")]

    def alive(self):
        return self.process.poll() is None

    def rss_bytes(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self in _running:
            _running.remove(self)
        if self.final_log is None:
            self.final_log = self.stderr()
        self.log_file.close()
        try:
            os.unlink(self.log_file.name)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stop_all():
    for s in list(_running):
        s.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------------- data

def load_square_pixels(path):
    """A photo as the model's 224x224 RGB8 pixels (resized here, so that the server has nothing to resample)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize((SIDE, SIDE), Image.BILINEAR), dtype=np.uint8)


def png_bytes(pixels):
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def to_model_input(pixels):
    """RGB8 -> what the model stores as preprocessing (scale 1/255): the FP32 tensor [1, 224, 224, 3]."""
    return (pixels.astype(np.float32) * np.float32(1.0 / 255.0)).reshape(1, SIDE, SIDE, 3)


def classify_tsv(paths, cli=None, model=None):
    """Every class's probability per image, as `xinfer classify --tsv` prints them: {path: array}."""
    out = subprocess.run([cli or CLI, "classify", "--model", str(model or MODEL), "--tsv", *map(str, paths)],
                         check=True, capture_output=True, text=True, timeout=120 * TIME_SCALE).stdout
    lines = out.strip().splitlines()
    header = lines[0].split("\t")
    assert header[1:] == LABELS, header
    result = {}
    for line in lines[1:]:
        cells = line.split("\t")
        result[cells[0]] = np.array([float(c) for c in cells[1:]], dtype=np.float64)
    assert len(result) == len(paths)
    return result


# ---------------------------------------------------------------------------------------------------------- requests

def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def json_infer_body(tensor, datatype="FP32", nested=False, name=INPUT, **extra):
    """A JSON inference request for one input; `tensor` is a numpy array (its shape is the request's shape)."""
    data = tensor.tolist() if nested else tensor.reshape(-1).tolist()
    body = {"inputs": [{"name": name, "shape": list(tensor.shape), "datatype": datatype, "data": data}]}
    body.update(extra)
    return compact(body)


def binary_infer_body(tensors, outputs=None, **extra):
    """The binary tensor extension: JSON header, then each tensor's little-endian bytes. `tensors`: list of
    (name, datatype, shape, raw bytes). Returns (body, headers)."""
    inputs = []
    tail = b""
    for name, datatype, shape, raw in tensors:
        inputs.append({"name": name, "shape": list(shape), "datatype": datatype,
                       "parameters": {"binary_data_size": len(raw)}})
        tail += raw
    header = {"inputs": inputs}
    if outputs is not None:
        header["outputs"] = outputs
    header.update(extra)
    head = compact(header)
    return head + tail, {"Inference-Header-Content-Length": str(len(head)),
                         "Content-Type": "application/octet-stream"}


def fp32_binary_body(tensor, outputs=None, **extra):
    t = np.ascontiguousarray(tensor, dtype="<f4")
    return binary_infer_body([(INPUT, "FP32", t.shape, t.tobytes())], outputs=outputs, **extra)


def bytes_element(payload):
    """One BYTES element on the wire: a 4-byte little-endian length, then the bytes."""
    return struct.pack("<I", len(payload)) + payload


def parse_binary_response(response):
    """(JSON header, {output name: numpy array or list of bytes}) of a response that may carry binary outputs."""
    body = response.content
    size = int(response.headers.get("Inference-Header-Content-Length", len(body)))
    header = json.loads(body[:size])
    at = size
    outputs = {}
    for o in header["outputs"]:
        if "data" in o:
            outputs[o["name"]] = np.array(o["data"], dtype=np.float64 if o["datatype"] != "BYTES" else object)
            continue
        n = o["parameters"]["binary_data_size"]
        raw = body[at:at + n]
        at += n
        if o["datatype"] == "BYTES":
            items, i = [], 0
            while i < len(raw):
                (k,) = struct.unpack_from("<I", raw, i)
                items.append(raw[i + 4:i + 4 + k])
                i += 4 + k
            outputs[o["name"]] = items
        else:
            assert o["datatype"] == "FP32", o
            outputs[o["name"]] = np.frombuffer(raw, dtype="<f4").reshape(o["shape"])
    assert at == len(body), "binary outputs do not account for the whole body"
    return header, outputs


def gzipped(body):
    return gzip.compress(body, compresslevel=6, mtime=0)  # no timestamp: the same body gives the same bytes


def assert_error(response, status, contains=None):
    """The protocol's error reply: the status, and a body that is exactly {"error": "<non-empty text>"}."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and list(body) == ["error"], body
    assert isinstance(body["error"], str) and body["error"], body
    if contains is not None:
        assert contains.lower() in body["error"].lower(), (contains, body["error"])
    return body["error"]


# ---------------------------------------------------------------------------------------------------------- raw HTTP

def raw_first_response(port, data, timeout=10 * TIME_SCALE, shutdown_write=False):
    """Sends bytes on a fresh connection; returns (status, headers, body) of the first response, or None when the
    server closes the connection without one. Raises AssertionError when nothing comes within `timeout`."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if shutdown_write:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer (or its closing) follows
        received = b""
        while True:
            responses = split_responses(received)
            if responses:
                return responses[0]
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                raise AssertionError("no response: the server hangs") from None
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            received += chunk


def split_responses(raw):
    """Every complete HTTP response in `raw` (Content-Length framed): list of (status, headers dict, body)."""
    out = []
    while raw:
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            break
        head = raw[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if len(raw) < end + 4 + n:
            break
        body = raw[end + 4:end + 4 + n]
        out.append((status, headers, body))
        raw = raw[end + 4 + n:]
    return out


# ---------------------------------------------------------------------------------------------------------- clients

class KeepAlive:
    """A requests.Session that records, for every exchange, the local port of the connection it used (None when
    the server announced `Connection: close`), so that a test can tell whether one connection carried them all."""

    def __init__(self, server):
        self.server = server
        self.session = requests.Session()
        self.session.headers["Accept-Encoding"] = "identity"

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        r = self.session.request(method, self.server.url(path), stream=True, **kwargs)
        conn = getattr(r.raw, "_connection", None)
        sock = getattr(conn, "sock", None) if conn is not None else None
        r.local_port = sock.getsockname()[1] if sock is not None else None
        r.content  # reads the body and returns the connection to the pool
        return r

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def infer_path(model=MODEL_NAME):
    return f"/v2/models/{model}/infer"


def assert_probabilities(actual, expected, tolerance=1e-5, what=""):
    actual = np.asarray(actual, dtype=np.float64).reshape(-1)
    expected = np.asarray(expected, dtype=np.float64).reshape(-1)
    assert actual.shape == expected.shape, (what, actual, expected)
    assert np.max(np.abs(actual - expected)) <= tolerance, (what, actual.tolist(), expected.tolist())


def valid_inference(client, photo):
    """A binary FP32 request for `photo` on `client`; checks the answer against `xinfer classify`."""
    body, headers = fp32_binary_body(photo.tensor)
    r = client.post(infer_path(), data=body, headers=headers)
    assert r.status_code == 200, r.text[:300]
    header, outputs = parse_binary_response(r)
    assert_probabilities(outputs[OUTPUT], photo.expected_square, what=photo.path.name)
    return r


# ---------------------------------------------------------------------------------------------------------- metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text exposition -> list of (name, {label: value}, float)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = dict(_LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def scrape(server):
    r = requests.get(server.url("/metrics"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return parse_metrics(r.text)


def metric(samples_or_server, name, **labels):
    """The sum of every sample of `name` whose labels include `labels`."""
    samples = scrape(samples_or_server) if isinstance(samples_or_server, Server) else samples_or_server
    found = [v for n, l, v in samples if n == name and all(l.get(k) == str(x) for k, x in labels.items())]
    assert found, f"no sample {name} with {labels}"
    return sum(found)


def wait_for(predicate, timeout=10 * TIME_SCALE, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class Background(threading.Thread):
    """One inference request sent from another thread (binary FP32 of `tensor`); .response once joined."""

    def __init__(self, server, tensor, timeout=60 * TIME_SCALE):
        super().__init__(daemon=True)
        self.server, self.tensor, self.timeout = server, tensor, timeout
        self.response = None
        self.error = None
        self.start()

    def run(self):
        try:
            body, headers = fp32_binary_body(self.tensor)
            self.response = requests.post(self.server.url(infer_path()), data=body, headers=headers,
                                          timeout=self.timeout)
        except Exception as e:  # noqa: BLE001 - the test reports it
            self.error = e
