"""GET /metrics: `promtool check metrics` passes (in Triton mode only the lint lines Triton's own names draw, as
docs/serving.md explains), and the counters move as the requests sent say."""
import shutil
import subprocess

import numpy as np
import pytest
import requests

import support as S

M = S.MODEL_NAME
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) is not installed")

NATIVE = {
    "xinfer_inference_requests_total": "counter", "xinfer_inferences_total": "counter",
    "xinfer_executions_total": "counter", "xinfer_request_duration_seconds": "histogram",
    "xinfer_queue_duration_seconds": "histogram", "xinfer_compute_input_duration_seconds": "histogram",
    "xinfer_compute_infer_duration_seconds": "histogram", "xinfer_compute_output_duration_seconds": "histogram",
    "xinfer_batch_size": "histogram", "xinfer_queue_depth": "gauge", "xinfer_model_ready": "gauge",
    "xinfer_model_load_duration_seconds": "gauge", "xinfer_http_requests_total": "counter",
    "xinfer_inflight_requests": "gauge", "process_resident_memory_bytes": "gauge",
}
TRITON = {
    "nv_inference_request_success": "counter", "nv_inference_request_failure": "counter",
    "nv_inference_count": "counter", "nv_inference_exec_count": "counter",
    "nv_inference_request_duration_us": "counter", "nv_inference_queue_duration_us": "counter",
    "nv_inference_compute_input_duration_us": "counter", "nv_inference_compute_infer_duration_us": "counter",
    "nv_inference_compute_output_duration_us": "counter", "nv_inference_pending_request_count": "gauge",
    "nv_model_load_duration_secs": "gauge",
}


def expected_triton_lint():
    """The lint lines promtool's rules give Triton's names (and only those): counters without `_total`, the
    abbreviated unit `us`, `_count` on a metric that is not a histogram or summary."""
    lines = set()
    for name, kind in TRITON.items():
        if kind == "counter" and not name.endswith("_total"):
            lines.add(f'{name} counter metrics should have "_total" suffix')
        if "_us" in name:
            lines.add(f"{name} metric names should not contain abbreviated units")
        if name.endswith("_count"):
            lines.add(f'{name} non-histogram and non-summary metrics should not have "_count" suffix')
    return lines


def promtool(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return r.returncode, {l.strip() for l in (r.stdout + r.stderr).splitlines() if l.strip()}


def _exercise(server, photo):
    with requests.Session() as http:
        body, headers = S.fp32_binary_body(photo.tensor)
        assert http.post(server.url(S.infer_path()), data=body, headers=headers).status_code == 200
        assert http.post(server.url(S.infer_path()), data=b"{").status_code == 400
        assert http.post(server.url("/predict"), data=photo.encoded).status_code == 200
        assert http.get(server.url("/nothing")).status_code == 404


def _families(text):
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types, f"TYPE of {name} given twice"
            types[name] = kind
    return types


@needs_promtool
def test_promtool_default_mode(photo):
    with S.Server() as server:
        _exercise(server, photo)
        r = requests.get(server.url("/metrics"))
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert _families(r.text) == NATIVE
        rc, lines = promtool(r.text)
        assert rc == 0 and not lines, lines


@needs_promtool
def test_promtool_triton_mode(photo):
    with S.Server("--metrics-compat", "triton") as server:
        _exercise(server, photo)
        text = requests.get(server.url("/metrics")).text
        assert _families(text) == dict(NATIVE, **TRITON)
        rc, lines = promtool(text)
        # Exit status 3: lint problems only (1 would be a parse error); exactly Triton's names' lint lines.
        assert rc == 3, (rc, lines)
        assert lines == expected_triton_lint(), lines ^ expected_triton_lint()
        # The native part alone is lint-clean.
        native = "\n".join(l for l in text.splitlines() if "nv_" not in l) + "\n"
        assert promtool(native) == (0, set())


@needs_promtool
def test_promtool_catches_what_it_should():
    """The checks above can fail: promtool rejects a broken exposition and lints a badly named counter."""
    assert promtool("broken{\n")[0] == 1
    rc, lines = promtool("# HELP x_seconds_count c\n# TYPE x_seconds_count counter\nx_seconds_count 1\n")
    assert rc == 3 and lines


def _snapshot(server):
    s = S.scrape(server)

    def outcome(o):
        return S.metric(s, "xinfer_inference_requests_total", model=M, outcome=o)
    return {
        "success": outcome("success"), "bad_request": outcome("bad_request"), "rejected": outcome("rejected"),
        "timeout": outcome("timeout"), "failed": outcome("failed"),
        "inferences": S.metric(s, "xinfer_inferences_total", model=M),
        "executions": S.metric(s, "xinfer_executions_total", model=M),
        "request_count": S.metric(s, "xinfer_request_duration_seconds_count", model=M),
        "batch_count": S.metric(s, "xinfer_batch_size_count", model=M),
        "batch_sum": S.metric(s, "xinfer_batch_size_sum", model=M),
        "ready": S.metric(s, "xinfer_model_ready", model=M),
        "http_200": sum(v for n, l, v in s if n == "xinfer_http_requests_total" and l["code"] == "200"),
        "http_400": sum(v for n, l, v in s if n == "xinfer_http_requests_total" and l["code"] == "400"),
        "http_503": sum(v for n, l, v in s if n == "xinfer_http_requests_total" and l["code"] == "503"),
        "samples": s,
    }


def test_counters_move_as_expected(photos):
    photo = photos[0]
    delay_us = 500_000 * (2 if S.SLOW else 1)  # every request waits this long for a fuller batch unless one forms
    with S.Server("--metrics-compat", "triton", "--max-queue-delay-us", str(delay_us)) as server, \
            requests.Session() as http:
        before = _snapshot(server)
        assert before["success"] == before["inferences"] == before["executions"] == 0
        assert before["ready"] == 1
        assert S.metric(before["samples"], "xinfer_model_load_duration_seconds", model=M) > 0
        # 2 single requests, 1 request of 3 images; each waits for a fuller batch, then runs alone.
        body, headers = S.fp32_binary_body(photo.tensor, parameters={"timeout": 60_000_000})
        for _ in range(2):
            assert http.post(server.url(S.infer_path()), data=body, headers=headers).status_code == 200
        three = np.concatenate(([p.tensor for p in photos] * 3)[:3])
        b3, h3 = S.fp32_binary_body(three)
        assert http.post(server.url(S.infer_path()), data=b3, headers=h3).status_code == 200
        # 3 bad requests, 1 queue timeout.
        for bad in (b"{", b"[]", S.json_infer_body(photo.tensor, datatype="FP31")):
            assert http.post(server.url(S.infer_path()), data=bad).status_code == 400
        timed = S.fp32_binary_body(photo.tensor, parameters={"timeout": 1000})
        assert http.post(server.url(S.infer_path()), data=timed[0], headers=timed[1]).status_code == 503
        # A single request, then one of 7 images: together a full batch of 8, run at once.
        seven = np.concatenate(([p.tensor for p in photos] * 7)[:7])
        b7, h7 = S.fp32_binary_body(seven)
        first = S.Background(server, photo.tensor)
        S.wait_for(lambda: S.metric(server, "xinfer_queue_depth", model=M) == 1, what="a queued request")
        assert http.post(server.url(S.infer_path()), data=b7, headers=h7).status_code == 200
        first.join()
        assert first.response.status_code == 200
        # 1 request to an unloaded model.
        assert http.post(server.url(f"/v2/repository/models/{M}/unload")).status_code == 200
        assert http.post(server.url(S.infer_path()), data=body, headers=headers).status_code == 503
        after_unload = _snapshot(server)
        assert after_unload["ready"] == 0
        assert http.post(server.url(f"/v2/repository/models/{M}/load")).status_code == 200
        after = _snapshot(server)

        def delta(key):
            return after[key] - before[key]
        assert delta("success") == 5
        assert delta("bad_request") == 3
        assert delta("timeout") == 1
        assert delta("rejected") == 1
        assert delta("failed") == 0
        assert delta("inferences") == 1 + 1 + 3 + 8  # 13 images
        assert delta("executions") == 4               # 1, 1, 3, then 8 together
        assert delta("batch_count") == 4 and delta("batch_sum") == 13
        assert delta("request_count") == 10
        assert after["ready"] == 1
        assert delta("http_400") == 3 and delta("http_503") == 2
        assert delta("http_200") >= 5
        s = after["samples"]
        # Triton's names count the same events (timeouts and full queues as REJECTED, bad requests as OTHER).
        assert S.metric(s, "nv_inference_request_success", model=M) == 5
        assert S.metric(s, "nv_inference_request_failure", model=M, reason="REJECTED") == 2
        assert S.metric(s, "nv_inference_request_failure", model=M, reason="OTHER") == 3
        assert S.metric(s, "nv_inference_request_failure", model=M, reason="BACKEND") == 0
        assert S.metric(s, "nv_inference_count", model=M) == 13
        assert S.metric(s, "nv_inference_exec_count", model=M) == 4
        assert S.metric(s, "nv_inference_pending_request_count", model=M) == 0
        assert S.metric(s, "nv_inference_compute_infer_duration_us", model=M) > 0
        assert S.metric(s, "nv_inference_queue_duration_us", model=M) >= 3 * delay_us  # the three batch-delay waits
        assert S.metric(s, "xinfer_inflight_requests") == 0
        assert S.metric(s, "process_resident_memory_bytes") > 10 << 20
        # Histograms are cumulative and end in +Inf = _count.
        buckets = [(l["le"], v) for n, l, v in s if n == "xinfer_batch_size_bucket" and l["model"] == M]
        counts = [v for _, v in buckets]
        assert counts == sorted(counts) and buckets[-1] == ("+Inf", after["batch_count"])
