"""Concurrent runs from Python threads, and the GIL released while a run computes."""
import sys
import threading
import time

import numpy as np

import xinfer
from conftest import random_nhwc


def test_concurrent_runs_equal_sequential_runs(small_model):
    inputs = [random_nhwc(1 + i % 3, seed=20 + i) for i in range(6)]
    expected = [small_model.run(x)[0] for x in inputs]
    mismatches, errors = [], []

    def worker(t):
        try:
            for r in range(12):
                k = (t + r) % len(inputs)
                form = r % 3
                if form == 0:
                    got = small_model.run(inputs[k])[0]
                elif form == 1:
                    got = small_model.run({"input": inputs[k]})["probabilities"]
                else:
                    got = small_model.run([inputs[k]], threads=1)[0]
                if not np.array_equal(got, expected[k]):
                    mismatches.append((t, r, k))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert mismatches == []


def test_concurrent_classify_equals_sequential(small_model):
    images = [np.random.default_rng(s).integers(0, 256, (40 + s, 70, 3), dtype=np.uint8) for s in range(4)]
    expected = [[(p.index, p.probability) for p in small_model.classify(img, 3)] for img in images]
    results = {}

    def worker(t):
        results[t] = [[(p.index, p.probability) for p in small_model.classify(images[(t + r) % 4], 3)]
                      for r in range(8)]

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(4):
        assert results[t] == [expected[(t + r) % 4] for r in range(8)]


def main_thread_progress_during(call):
    """How far this thread's counter moved while `call` ran in another thread.

    The switch interval is raised for the measurement so that the interpreter never forces the calling thread to
    hand over the GIL: this thread can then only count while the call has released the GIL itself."""
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    state = {"counter": 0}
    seen, failures = {}, []
    done = threading.Event()

    def worker():
        try:
            seen["before"] = state["counter"]
            call()
            seen["after"] = state["counter"]
        except BaseException as e:  # noqa: BLE001 - reported below
            failures.append(e)
        finally:
            done.set()

    try:
        th = threading.Thread(target=worker)
        th.start()
        while not done.is_set():
            state["counter"] += 1
            time.sleep(0.0001)  # lets the worker take the GIL back when its call returns
        th.join()
    finally:
        sys.setswitchinterval(old_interval)
    assert failures == []
    return seen["after"] - seen["before"]


def test_the_measurement_sees_a_call_that_holds_the_gil():
    assert main_thread_progress_during(lambda: sum(range(20_000_000))) == 0


def test_the_gil_is_released_during_a_run():
    model = xinfer.Model("builtin:mobilenet_v2?size=224")
    x = random_nhwc(8, size=224, seed=30)
    model.run(x)  # plan and warm up outside the measured call
    assert main_thread_progress_during(lambda: model.run(x)) > 0


def test_the_gil_is_released_while_loading_classifying_and_quantizing(small_model, tmp_path):
    calibration = [random_nhwc(4, seed=s) for s in range(3)]
    assert main_thread_progress_during(lambda: xinfer.quantize(small_model, calibration, method="entropy")) > 0
    assert main_thread_progress_during(lambda: xinfer.Model("builtin:mobilenet_v2?size=224")) > 0
    big = np.random.default_rng(31).integers(0, 256, (3000, 3000, 3), dtype=np.uint8)
    assert main_thread_progress_during(lambda: small_model.classify(big)) > 0
