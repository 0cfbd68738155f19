"""Sustained load on loopback with wrk (about 10 s per run at 1, 8, 32 and 64 connections, valid binary requests):
no non-2xx answer, every request wrk sent counted once by the server, resident memory flat over three more runs at
64 connections. Then SIGTERM under load: no accepted request is lost, the process exits 0.
Skipped with XINFER_SERVE_QUICK=1 (sanitizer builds)."""
import json
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests

import support as S

M = S.MODEL_NAME
WRK = shutil.which("wrk")
SECONDS = 10

pytestmark = [
    pytest.mark.load,
    pytest.mark.skipif(S.QUICK, reason="load tests are skipped with XINFER_SERVE_QUICK=1"),
]

# wrk calls request() for every request it sends (a function makes the requests "dynamic"), response() for every
# answer; done() sums the per-thread counters and prints one JSON line. Before the run, wrk calls the first
# thread's request() once more to check what it returns: that thread starts counting at -1.
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("first", #threads == 1)
end
function init(args)
  sent = first and -1 or 0
  ok = 0
  other = 0
  local f = assert(io.open("%(body)s", "rb"))
  body = f:read("*all")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/octet-stream"
  wrk.headers["Inference-Header-Content-Length"] = "%(header_size)d"
  wrk.body = body
end
function request()
  sent = sent + 1
  return wrk.format()
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local sent, ok, other = 0, 0, 0
  for _, t in ipairs(threads) do
    sent = sent + t:get("sent")
    ok = ok + t:get("ok")
    other = other + t:get("other")
  end
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "sent": %%d, "ok": %%d, "other": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p99_ms": %%.1f}\\n',
    summary.requests, sent, ok, other, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(99) / 1000))
end
"""


@pytest.fixture(scope="module")
def wrk_script(tmp_path_factory, photos):
    if WRK is None:
        pytest.skip("wrk (Debian package wrk) is not installed")
    folder = tmp_path_factory.mktemp("wrk")
    body, headers = S.fp32_binary_body(photos[1].tensor)
    (folder / "body.bin").write_bytes(body)
    script = folder / "infer.lua"
    script.write_text(WRK_SCRIPT % {"body": folder / "body.bin",
                                    "header_size": int(headers["Inference-Header-Content-Length"])})
    return script


def _requests_by_outcome(server):
    samples = S.scrape(server)
    return {o: S.metric(samples, "xinfer_inference_requests_total", model=M, outcome=o)
            for o in ("success", "bad_request", "rejected", "timeout", "failed")}


def run_wrk(server, script, connections, seconds=SECONDS):
    threads = min(2, connections)
    before = _requests_by_outcome(server)
    r = subprocess.run([WRK, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s",
                        "-s", str(script), server.url(S.infer_path())],
                       capture_output=True, text=True, timeout=seconds + 120)
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("WRK_RESULT ")]
    assert line, r.stdout
    result = json.loads(line[0][len("WRK_RESULT "):])
    # Requests still in flight when wrk stops are finished by the server after wrk is gone.
    deadline = time.monotonic() + 10 * S.TIME_SCALE
    while True:
        after = _requests_by_outcome(server)
        if sum(after.values()) - sum(before.values()) >= result["sent"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    S.wait_for(lambda: S.metric(server, "xinfer_inflight_requests") == 0, what="the server to finish")
    result["served"] = {o: after[o] - before[o] for o in after}
    result["rss"] = server.rss_bytes()
    result["connections"] = connections
    result["stdout"] = r.stdout
    return result


def check_run(result):
    served = result["served"]
    what = json.dumps({k: v for k, v in result.items() if k != "stdout"})
    assert result["requests"] > 0, what
    assert result["other"] == 0 and result["status"] == 0, f"non-2xx answers: {what}"
    assert result["ok"] == result["requests"], what
    assert result["connect"] == result["read"] == result["write"] == result["timeout"] == 0, f"socket errors: {what}"
    # Every request wrk sent reached the server, was counted exactly once and succeeded; the last ones, one per
    # connection at most, abandoned by wrk when its time was up, were still served.
    assert served["success"] == sum(served.values()), f"requests that did not succeed: {what}"
    assert served["success"] == result["sent"], what
    assert result["sent"] - result["requests"] <= result["connections"], what


def test_load_at_several_concurrencies(wrk_script, photos):
    with S.Server("--max-batch", "8") as server:
        with S.KeepAlive(server) as client:
            S.valid_inference(client, photos[1])
        results = []
        # Four concurrencies (the last one also reaches the working set of 64 connections), then three more runs at
        # 64 connections, after which resident memory has not grown.
        for connections in (1, 8, 32, 64, 64, 64, 64):
            result = run_wrk(server, wrk_script, connections)
            check_run(result)
            results.append(result)
        first, third = results[-3]["rss"], results[-1]["rss"]
        for r in results:
            print(f"c={r['connections']:3d}: {r['requests']} requests, p99 {r['p99_ms']} ms, "
                  f"RSS {r['rss'] / 2 ** 20:.0f} MiB")
        assert third <= first + max(0.1 * first, 20 << 20), [r["rss"] for r in results]
        # Batching happened under concurrency (mean batch > 1 at 64 connections).
        samples = S.scrape(server)
        assert S.metric(samples, "xinfer_inferences_total", model=M) > S.metric(samples, "xinfer_executions_total",
                                                                                 model=M)
        with S.KeepAlive(server) as client:
            S.valid_inference(client, photos[2])


def test_sigterm_under_load_loses_no_accepted_request(photos):
    """16 clients send requests without pause; SIGTERM arrives mid-stream. Every request that got an answer got
    200 (with the right probabilities) or the documented 503; every 200 the server logged reached its client;
    the process exits 0."""
    body, headers = S.fp32_binary_body(photos[0].tensor)
    answers = []
    lock = threading.Lock()
    stop = threading.Event()
    server = S.Server()
    try:
        def client():
            with requests.Session() as http:
                while not stop.is_set():
                    try:
                        r = http.post(server.url(S.infer_path()), data=body, headers=headers, timeout=S.TIMEOUT)
                    except requests.ConnectionError:
                        if server.process.poll() is not None:
                            return
                        continue  # the connection closed under the request (refused or reset): not accepted
                    with lock:
                        answers.append(r)

        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        time.sleep(2)
        sent_before = len(answers)
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(60 * S.TIME_SCALE)
        stop.set()
        for t in threads:
            t.join(S.TIMEOUT)
        assert code == 0, server.stderr()[-2000:]
        assert sent_before > 0
        ok = [r for r in answers if r.status_code == 200]
        refused = [r for r in answers if r.status_code != 200]
        for r in ok:
            S.assert_probabilities(r.json()["outputs"][0]["data"], photos[0].expected_square)
        for r in refused:
            S.assert_error(r, 503, "shutting down")
        logged_ok = [l for l in server.access_log() if l["route"] == S.infer_path() and l["status"] == 200]
        assert len(logged_ok) == len(ok), (len(logged_ok), len(ok))
        print(f"{len(ok)} answered 200, {len(refused)} answered 503 while draining")
    finally:
        stop.set()
        server.close()
