"""1,000 malformed requests (200 with XINFER_SERVE_QUICK=1), generated from a fixed seed: mutations of valid JSON and
binary inference requests, truncated bodies, lying Content-Length and Inference-Header-Content-Length, huge shapes,
deep nesting, broken compression and forms, and raw-socket requests that an HTTP client cannot express. None may
crash or hang the server; each gets a 4xx with {"error": ...} (only a lying Content-Length may instead close the
connection), and valid requests in between and afterwards are answered correctly."""
import base64
import gzip
import json
import random
import struct
import time

import pytest
import requests

import support as S

SEED = 20261208
COUNT = 200 if S.QUICK else 1000
M = S.MODEL_NAME
INFER = S.infer_path()
WHITESPACE = b" \t\r\n"


class Templates:
    """The valid requests the mutations start from (built once from a real photo)."""

    def __init__(self, photo):
        pixels = photo.pixels.reshape(1, 224, 224, 3)
        self.json_head = S.compact({"inputs": [{"name": S.INPUT, "shape": [1, 224, 224, 3], "datatype": "UINT8",
                                                "data": "DATA"}]})
        self.data_values = pixels.reshape(-1).tolist()
        self.data = S.compact(self.data_values)
        before, after = self.json_head.split(b'"DATA"')
        self.json_prefix, self.json_suffix = before, after
        self.json_body = before + self.data + after
        self.tail = photo.tensor.astype("<f4").tobytes()
        assert self.tail[0] not in WHITESPACE
        self.bin_header_obj = {"inputs": [{"name": S.INPUT, "shape": [1, 224, 224, 3], "datatype": "FP32",
                                           "parameters": {"binary_data_size": len(self.tail)}}]}
        self.bin_header = S.compact(self.bin_header_obj)
        self.png = photo.square_png
        self.jpeg = photo.encoded


def http_case(path, body, headers=None, method="POST"):
    return {"kind": "http", "method": method, "path": path, "body": body, "headers": headers or {}}


def raw_case(data, shutdown=False, lying_length=False):
    return {"kind": "raw", "data": data, "shutdown": shutdown, "lying_length": lying_length}


def json_with(t, header_obj=None, data=None):
    """The JSON request with its header replaced by `header_obj` (placeholder "DATA" for the data array)."""
    head = S.compact(header_obj) if header_obj is not None else t.json_head
    before, _, after = head.partition(b'"DATA"')
    return before + (data if data is not None else t.data) + after


def header_obj(t):
    return json.loads(t.json_head)


# ---------------------------------------------------------------------------------------------------- mutations
# Each takes (rng, templates) and returns a case whose request is invalid by construction.

def mutate_json_field(rng, t):
    h = header_obj(t)
    inp = h["inputs"][0]
    choice = rng.randrange(14)
    if choice == 0:
        inp["name"] = rng.choice(["", "input_2", "INPUT_1", "input_1 ", "x" * rng.randrange(1, 300)])
    elif choice == 1:
        inp["datatype"] = rng.choice(["FP31", "fp32", "", "STRING", "UINT9", 5, None, ["UINT8"], "BYTES"])
    elif choice == 2:
        shape = [1, 224, 224, 3]
        d = rng.randrange(4)
        shape[d] = rng.choice([shape[d] + rng.randrange(1, 5), max(0, shape[d] - rng.randrange(1, 5)), 0])
        inp["shape"] = shape
    elif choice == 3:
        inp["shape"] = rng.choice([[], [150528], [224, 224, 3], [1, 1, 224, 224, 3], [1, 224, 3, 224],
                                   [1, 3, 224, 224], [1.0, 224, 224, 3], ["1", 224, 224, 3], [[1], 224, 224, 3],
                                   "1,224,224,3", None, {"0": 1}])
    elif choice == 4:
        del inp[rng.choice(["name", "shape", "datatype", "data"])]
    elif choice == 5:
        inp["parameters"] = {"binary_data_size": rng.choice([0, 602112, 150528, -1, "x"])}
    elif choice == 6:
        h["inputs"].append(dict(inp))
    elif choice == 7:
        h["outputs"] = rng.choice([[{"name": "nope"}], [{"name": S.OUTPUT}, {"name": S.OUTPUT}], [{}], [1], {},
                                   [{"name": S.OUTPUT, "parameters": {"classification": rng.choice([0, -2, "5",
                                                                                                      1.5])}}],
                                   [{"name": S.OUTPUT, "parameters": {"binary_data": "yes"}}]])
    elif choice == 8:
        h["parameters"] = rng.choice([{"timeout": -5}, {"timeout": "10"}, {"binary_data_output": 1}, [], "p"])
    elif choice == 9:
        h["id"] = rng.choice([1, None, [], {}, True])
    elif choice == 10:
        h["inputs"] = rng.choice([[], {}, None, "inputs", [None], [[inp]]])
    elif choice == 11:
        del h["inputs"]
    elif choice == 12:
        # A wrong element count: some values dropped or added.
        n = rng.randrange(1, 1000)
        values = t.data_values[:-n] if rng.random() < 0.5 else t.data_values + t.data_values[:n]
        return http_case(INFER, json_with(t, data=S.compact(values)))
    else:
        depth = rng.randrange(101, 3000)
        return http_case(INFER, json_with(t, data=b"[" * depth + t.data + b"]" * depth))
    return http_case(INFER, json_with(t, h))


def mutate_json_truncate(rng, t):
    return http_case(INFER, t.json_body[:rng.randrange(0, len(t.json_body))])


def mutate_json_byte(rng, t):
    body = bytearray(t.json_body)
    head = len(t.json_prefix)
    data_end = head + len(t.data)
    if rng.random() < 0.6:
        # Anywhere in the JSON around the data array: every byte there is significant.
        positions = list(range(head)) + list(range(data_end, len(body)))
        k = rng.choice(positions)
        new = rng.choice([b for b in range(256) if b != body[k]])
    else:
        # Inside the data array: a character that cannot continue a list of numbers.
        k = rng.randrange(head + 1, data_end - 1)
        new = rng.choice(b'[]{}:"x\x00\xff')
    body[k] = new
    return http_case(INFER, bytes(body))


def mutate_binary_header_byte(rng, t):
    header = bytearray(t.bin_header)
    k = rng.randrange(len(header))
    header[k] = rng.choice([b for b in range(256) if b != header[k]])
    return http_case(INFER, bytes(header) + t.tail, {"Inference-Header-Content-Length": str(len(header))})


def mutate_header_length(rng, t):
    body = t.bin_header + t.tail
    n = len(t.bin_header)
    value = rng.choice([
        str(n - rng.randrange(1, n)), str(n + rng.randrange(1, 64)), str(len(body) + rng.randrange(1, 10 ** 6)),
        "-1", "-" + str(n), "", " ", "abc", f"{n}abc", f"0x{n:x}", str(2 ** 64 + n), "9" * rng.randrange(20, 200),
        f"{n}.0", f"+{n}",
    ])
    if value.strip() == "":
        value = "x"  # an empty value is the same as none
    return http_case(INFER, body, {"Inference-Header-Content-Length": value})


def mutate_binary_size(rng, t):
    h = json.loads(t.bin_header)
    size = len(t.tail)
    h["inputs"][0]["parameters"]["binary_data_size"] = rng.choice([
        size - rng.randrange(1, size), size + rng.randrange(1, 10 ** 6), -size, 2 ** 63, 0, str(size), None, 1.5])
    head = S.compact(h)
    return http_case(INFER, head + t.tail, {"Inference-Header-Content-Length": str(len(head))})


def mutate_binary_truncate(rng, t):
    body = t.bin_header + t.tail
    cut = rng.randrange(len(t.bin_header), len(body))
    return http_case(INFER, body[:cut], {"Inference-Header-Content-Length": str(len(t.bin_header))})


def mutate_huge_shape(rng, t):
    h = json.loads(t.bin_header)
    big = [2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 41, 2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, -1, -2 ** 63]
    shape = [1, 224, 224, 3]
    for _ in range(rng.randrange(1, 4)):
        shape[rng.randrange(4)] = rng.choice(big)
    if rng.random() < 0.2:
        shape = [rng.choice([2, 3, 1000, 65536])] * rng.randrange(5, 300)  # high rank, overflowing product
    h["inputs"][0]["shape"] = shape
    head = S.compact(h)
    return http_case(INFER, head + t.tail, {"Inference-Header-Content-Length": str(len(head))})


def mutate_nesting(rng, t):
    depth = rng.randrange(101, 20000)
    opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    inner = opener * depth + b"1" + closer * depth
    where = rng.randrange(3)
    if where == 0:
        return http_case(INFER, inner)
    if where == 1:
        h = header_obj(t)
        h["parameters"] = "NEST"
        return http_case(INFER, json_with(t, h).replace(b'"NEST"', inner))
    return http_case(INFER, b'{"inputs":' + b"[" * depth + b"]" * depth + b"}")


def mutate_garbage(rng, t):
    body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
    return http_case(rng.choice([INFER, "/predict", f"/predictions/{M}"]), body,
                     rng.choice([{}, {"Content-Type": "application/json"}, {"Inference-Header-Content-Length": "0"}]))


def mutate_bytes_input(rng, t):
    choice = rng.randrange(5)
    if choice == 0:
        element = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 2000)))
        raw = S.bytes_element(element)
    elif choice == 1:
        source = rng.choice([t.png, t.jpeg])
        raw = S.bytes_element(source[:rng.randrange(0, len(source) - 1)])
    elif choice == 2:
        raw = struct.pack("<I", rng.randrange(len(t.png) + 1, 2 ** 32)) + t.png  # length beyond the data
    elif choice == 3:
        raw = S.bytes_element(t.png)[:rng.randrange(0, 4)]  # a cut length prefix
    else:
        raw = S.bytes_element(t.png) + S.bytes_element(t.png)  # two elements for shape [1]
    body, headers = S.binary_infer_body([(S.INPUT, "BYTES", [1], raw)])
    return http_case(INFER, body, headers)


def mutate_b64(rng, t):
    good = base64.b64encode(t.png).decode()
    bad = rng.choice([good[:rng.randrange(0, 200)] + "!" + good[200:], "@@@@", good.replace("A", "*")])
    body = S.compact({"inputs": [{"name": S.INPUT, "shape": [1], "datatype": "BYTES", "data": [{"b64": bad}]}]})
    return http_case(INFER, body)


def mutate_gzip(rng, t):
    packed = bytearray(gzip.compress(t.json_body, compresslevel=1, mtime=0))
    choice = rng.randrange(3)
    if choice == 0:
        packed[rng.randrange(10, len(packed) - 8)] ^= 1 << rng.randrange(8)
    elif choice == 1:
        packed = packed[:rng.randrange(0, len(packed) - 1)]
    else:
        packed = bytearray(b"\x1f\x8b" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200))))
    return http_case(INFER, bytes(packed), {"Content-Encoding": rng.choice(["gzip", "deflate"])})


def mutate_form(rng, t):
    boundary = "b0undary"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{rng.choice(['file', 'image'])}\"; "
            f"filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n").encode()
    image = rng.choice([b"not an image", t.png[:rng.randrange(0, 300)], b""])
    body = part + image + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if rng.random() < 0.3:
        body = body[:rng.randrange(0, len(body))]  # a cut form
    return http_case(rng.choice(["/predict", f"/predictions/{M}"]), body, headers)


def mutate_predict_query(rng, t):
    top = rng.choice(["0", "-1", "abc", "", "1e3", "99999999999", "2.5"])
    return http_case(f"/predict?top={top}", t.jpeg)


def mutate_raw_request(rng, t):
    """What an HTTP client cannot send: broken request lines, lying Content-Length, broken chunked framing."""
    body = t.bin_header + t.tail
    start = f"POST {INFER} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    ihcl = f"Inference-Header-Content-Length: {len(t.bin_header)}\r\n".encode()
    choice = rng.randrange(8)
    if choice == 0:  # claims more than it sends, then half-closes
        cut = rng.randrange(0, len(body))
        return raw_case(start + ihcl + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:cut],
                        shutdown=True, lying_length=True)
    if choice == 1:  # claims less than it sends: the rest is read as the next request
        claimed = rng.randrange(1, len(body))
        return raw_case(start + ihcl + f"Content-Length: {claimed}\r\n\r\n".encode() + body, lying_length=True)
    if choice == 2:  # a Content-Length that is no length
        value = rng.choice(["-5", "abc", "99999999999999999999999", "1e6", "0x10", " "])
        return raw_case(start + f"Content-Length: {value}\r\n\r\n".encode() + b"{}", shutdown=True,
                        lying_length=True)
    if choice == 3:  # a request line that is not HTTP
        line = rng.choice([b"GARBAGE", b"GET", b"GET / HTTP/9.9", b"\x00\x01\x02", b"GET /v2\x00x HTTP/1.1",
                           bytes(rng.randrange(33, 127) for _ in range(rng.randrange(1, 200)))])
        return raw_case(line + b"\r\nHost: x\r\n\r\n")
    if choice == 4:  # a URL or a header too long
        if rng.random() < 0.5:
            return raw_case(b"GET /" + b"a" * rng.randrange(70000, 200000) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        return raw_case(b"GET /v2 HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * rng.randrange(70000, 200000) +
                        b"\r\n\r\n")
    if choice == 5:  # chunk sizes that are not hexadecimal or overflow
        size = rng.choice([b"zz", b"ffffffffffffffffffff", b"-1", b""])
        return raw_case(start + b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n{}\r\n0\r\n\r\n")
    if choice == 6:  # a chunked body cut short, then half-closed
        return raw_case(start + b"Transfer-Encoding: chunked\r\n\r\n1000\r\n" + t.json_body[:100], shutdown=True,
                        lying_length=True)
    # a body over the limit announced up front
    return raw_case(start + b"Content-Length: 999999999\r\n\r\n" + body[:1000], shutdown=True, lying_length=True)


MUTATIONS = [
    (mutate_json_field, 14), (mutate_json_truncate, 6), (mutate_json_byte, 10), (mutate_binary_header_byte, 12),
    (mutate_header_length, 8), (mutate_binary_size, 6), (mutate_binary_truncate, 4), (mutate_huge_shape, 6),
    (mutate_nesting, 4), (mutate_garbage, 6), (mutate_bytes_input, 6), (mutate_b64, 2), (mutate_gzip, 4),
    (mutate_form, 3), (mutate_predict_query, 2), (mutate_raw_request, 7),
]


def generate(templates, count, seed=SEED):
    rng = random.Random(seed)
    functions = [f for f, _ in MUTATIONS]
    weights = [w for _, w in MUTATIONS]
    return [(f.__name__, f(rng, templates)) for f in rng.choices(functions, weights, k=count)]


# ---------------------------------------------------------------------------------------------------- sending

def send_raw(server, case, timeout):
    got = S.raw_first_response(server.port, case["data"], timeout=timeout, shutdown_write=case["shutdown"])
    return None if got is None else (got[0], got[2])


def check_error_body(body):
    parsed = json.loads(body)
    assert isinstance(parsed, dict) and list(parsed) == ["error"] and parsed["error"], parsed


def check_valid(http, server, photo):
    body, headers = S.fp32_binary_body(photo.tensor)
    r = http.post(server.url(INFER), data=body, headers=headers, timeout=S.TIMEOUT)
    assert r.status_code == 200, r.text[:300]
    S.assert_probabilities(r.json()["outputs"][0]["data"], photo.expected_square)


def test_generator_is_deterministic_and_varied(photo):
    t = Templates(photo)
    a, b = generate(t, 100), generate(t, 100)
    assert [(n, c.get("body"), c.get("data")) for n, c in a] == [(n, c.get("body"), c.get("data")) for n, c in b]
    assert len({n for n, _ in generate(t, COUNT)}) == len(MUTATIONS)


def test_malformed_requests(photos):
    photo = photos[0]
    templates = Templates(photo)
    cases = generate(templates, COUNT)
    timeout = 10 * S.TIME_SCALE
    failures = []
    outcomes = {}
    started = time.monotonic()
    with S.Server("--read-timeout-s", "1", "--max-body-mb", "8") as server, requests.Session() as http:
        http.headers["Accept-Encoding"] = "identity"
        # The templates themselves are valid: the mutations, not the starting points, make the requests bad.
        r = http.post(server.url(INFER), data=templates.json_body, timeout=S.TIMEOUT)
        assert r.status_code == 200, r.text[:300]
        r = http.post(server.url(INFER), data=templates.bin_header + templates.tail, timeout=S.TIMEOUT,
                      headers={"Inference-Header-Content-Length": str(len(templates.bin_header))})
        assert r.status_code == 200, r.text[:300]
        for i, (name, case) in enumerate(cases):
            what = f"case {i} ({name})"
            try:
                if case["kind"] == "http":
                    r = http.request(case["method"], server.url(case["path"]), data=case["body"],
                                     headers=case["headers"], timeout=timeout)
                    status = r.status_code
                    if 400 <= status < 500:
                        check_error_body(r.content)
                else:
                    got = send_raw(server, case, timeout)
                    if got is None:
                        status = "closed"
                        if not case["lying_length"]:
                            raise AssertionError("the server closed the connection without an answer")
                    else:
                        status = got[0]
                        if 400 <= status < 500:
                            check_error_body(got[1])
                if status != "closed" and not 400 <= status < 500:
                    raise AssertionError(f"status {status}")
                outcomes[status] = outcomes.get(status, 0) + 1
            except (AssertionError, requests.RequestException, OSError, ValueError) as e:
                failures.append(f"{what}: {e!r}"[:400])
            if not server.alive():
                pytest.fail(f"the server died at {what}:\n{server.stderr()[-3000:]}")
            if i % 100 == 99:
                check_valid(http, server, photos[(i // 100) % len(photos)])
        for p in photos:
            check_valid(http, server, p)
        assert server.alive()
    elapsed = time.monotonic() - started
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures[:30])
    assert sum(outcomes.values()) == len(cases)
    print(f"{len(cases)} malformed requests in {elapsed:.1f} s: {outcomes}")
