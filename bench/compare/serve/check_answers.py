#!/usr/bin/python3
"""Checks that both servers answered the same body the same way, before anything is timed.

    check_answers.py ANSWERS_DIR     (files {xinfer,peer}-{json,binary,jpeg}.json, written by run.sh)

Tensor bodies (json, binary): the same model on the same FP32 values: top-1 equal and every probability within
1e-4. The JPEG body: each server decodes and resizes the photo itself (xinfer: stb_image and a bilinear resize
without antialiasing; the peer: sharp, i.e. libvips with libjpeg-turbo and its default Lanczos-3 resampling), so
the pixels differ slightly: top-1 equal and every probability within 0.05. Exit status 1 when a check fails.
"""
import json
import os
import sys

TOLERANCE = {"json": 1e-4, "binary": 1e-4, "jpeg": 0.05}


def probabilities(path, body):
    answer = json.load(open(path))
    if body == "jpeg":
        preds = answer["predictions"]
        probs = [0.0] * (max(p["index"] for p in preds) + 1)
        for p in preds:
            probs[p["index"]] = p["probability"]
        return probs
    return [float(v) for v in answer["outputs"][0]["data"]]


def main():
    folder = sys.argv[1]
    ok = True
    for body, tolerance in TOLERANCE.items():
        a = probabilities(os.path.join(folder, f"xinfer-{body}.json"), body)
        b = probabilities(os.path.join(folder, f"peer-{body}.json"), body)
        top_a, top_b = a.index(max(a)), b.index(max(b))
        delta = max(abs(x - y) for x, y in zip(a, b)) if len(a) == len(b) else float("inf")
        good = top_a == top_b and delta <= tolerance
        ok &= good
        print(f"agreement {body:<6}: top-1 xinfer {top_a} peer {top_b}, max |dp| {delta:.2e} "
              f"(limit {tolerance:g}) {'ok' if good else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
