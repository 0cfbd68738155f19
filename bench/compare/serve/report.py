#!/usr/bin/python3
"""Turns the raw results of run.sh into markdown: throughput, latency and memory side by side, with ratios.

    report.py DIR      (DIR holds results.jsonl, memory.jsonl and machine.json from run.sh)

Every number is the median over the repetitions of one (server, configuration, body, threads, concurrency).
Ratios are xinfer / peer: above 1 xinfer serves more requests per second; below 1 its p99 latency or its memory
is lower.
"""
import json
import os
import statistics
import sys
from collections import defaultdict

BODIES = [("json", "OIP JSON"), ("binary", "OIP binary"), ("jpeg", "JPEG /predict")]
XINFER_CONFIGS = [(1, "batching off"), (8, "batching on")]


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}×"


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "."
    results = load(os.path.join(folder, "results.jsonl"))
    memory = load(os.path.join(folder, "memory.jsonl"))
    machine = {}
    if os.path.exists(os.path.join(folder, "machine.json")):
        machine = json.load(open(os.path.join(folder, "machine.json")))
    if not results:
        sys.exit(f"report: no results in {folder}")

    runs = defaultdict(list)  # (server, max_batch, body, threads, concurrency) -> [result per repetition]
    for r in results:
        runs[(r["server"], r["max_batch"], r["body"], r["threads"], r["concurrency"])].append(r)

    def cell(server, batch, body, threads, c, key):
        rs = runs.get((server, batch, body, threads, c))
        return statistics.median(r[key] for r in rs) if rs else None

    def cores(server, batch, body, threads, c):
        """CPU cores the server kept busy on average: its CPU seconds over the run's seconds."""
        rs = [r for r in runs.get((server, batch, body, threads, c), []) if "server_cpu_s" in r]
        return statistics.median(r["server_cpu_s"] / r["duration_s"] for r in rs) if rs else None

    def failures(server, batch, body, threads, c):
        rs = runs.get((server, batch, body, threads, c), [])
        return sum(r["non2xx"] + r["socket_errors"] + r["timeouts"] for r in rs)

    threads_list = sorted({r["threads"] for r in results})
    concurrency = sorted({r["concurrency"] for r in results})
    reps = max(r["rep"] for r in results)
    seconds = statistics.median(r["duration_s"] for r in results)
    loads = [r["load_before"] for r in results]

    out = []
    if machine:
        flags = ", ".join(f"{k} {machine.get(k, '?')}" for k in ("avx2", "avx512f", "avx512_vnni"))
        out.append(f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores ({flags}); "
                   f"{machine.get('wrk', '?')}.  ")
        out.append(f"xinfer: {machine.get('xinfer', '?')}, serving {machine.get('xinfer_model', '?')}; "
                   f"peer: {machine.get('peer', '?')}.  ")
    out.append(f"{reps} repetition(s) of {seconds:.0f} s per point, medians shown; load average before each "
               f"server {min(loads):.2f}–{max(loads):.2f}.")
    out.append("")
    out.append("## Throughput and latency")
    out.append("")
    out.append("rps: requests per second; p50/p99: latency in ms; × : xinfer / peer (rps: higher is better for "
               "xinfer; p99: lower is better for xinfer). xinfer batching off = `--max-batch 1`, on = "
               "`--max-batch 8` with a short queue delay; the peer has no batching. fail: non-2xx + socket errors "
               "+ timeouts, summed over repetitions (xinfer off / on / peer). cores: the server's CPU seconds per second of the "
               "run (all its threads), peer / xinfer off / xinfer on.")
    out.append("")
    header = ["body", "threads", "conc", "peer rps"]
    for _, label in XINFER_CONFIGS:
        header += [f"xinfer {label.split()[1]} rps"]
    header += ["peer p50 / p99"]
    for _, label in XINFER_CONFIGS:
        header += [f"xinfer {label.split()[1]} p50 / p99"]
    header += ["cores peer/off/on", "fail"]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 5) + ["---"] * 2) + "|")

    rps_ratios = defaultdict(list)  # (batch, body) -> ratios
    p99_ratios = defaultdict(list)
    per_cpu_ratios = defaultdict(list)  # requests per CPU-second, xinfer / peer
    for body, body_label in BODIES:
        for threads in threads_list:
            for c in concurrency:
                peer_rps = cell("peer", 0, body, threads, c, "rps")
                peer_p50 = cell("peer", 0, body, threads, c, "p50_ms")
                peer_p99 = cell("peer", 0, body, threads, c, "p99_ms")
                peer_cores = cores("peer", 0, body, threads, c)
                busy = [fmt(peer_cores, 2)]
                if peer_rps is None and all(cell("xinfer", b, body, threads, c, "rps") is None
                                            for b, _ in XINFER_CONFIGS):
                    continue
                row = [body_label, str(threads), str(c), fmt(peer_rps)]
                lat = []
                fails = []
                for batch, _ in XINFER_CONFIGS:
                    rps = cell("xinfer", batch, body, threads, c, "rps")
                    p50 = cell("xinfer", batch, body, threads, c, "p50_ms")
                    p99 = cell("xinfer", batch, body, threads, c, "p99_ms")
                    rr, pr = ratio(rps, peer_rps), ratio(p99, peer_p99)
                    if rr is not None:
                        rps_ratios[(batch, body)].append(rr)
                    if pr is not None:
                        p99_ratios[(batch, body)].append(pr)
                    x_cores = cores("xinfer", batch, body, threads, c)
                    busy.append(fmt(x_cores, 2))
                    if x_cores and peer_cores and rps and peer_rps:
                        per_cpu_ratios[(batch, body)].append((rps / x_cores) / (peer_rps / peer_cores))
                    row.append(f"{fmt(rps)} ({fmt_ratio(rr)})")
                    lat.append(f"{fmt(p50)} / {fmt(p99)} ({fmt_ratio(pr)})")
                    fails.append(str(failures("xinfer", batch, body, threads, c)))
                row.append(f"{fmt(peer_p50)} / {fmt(peer_p99)}")
                row += lat
                row.append("/".join(busy))
                fails.append(str(failures("peer", 0, body, threads, c)))
                row.append("/".join(fails))
                out.append("| " + " | ".join(row) + " |")

    out.append("")
    out.append("## Medians of the ratios (xinfer / peer)")
    out.append("")
    out.append("| xinfer | body | throughput × (median, range) | p99 × (median, range) | per CPU-second × (median) |")
    out.append("|---|---|---:|---:|---:|")
    for batch, label in XINFER_CONFIGS:
        every_rps, every_p99, every_cpu = [], [], []
        for body, body_label in BODIES:
            rr, pr = rps_ratios.get((batch, body), []), p99_ratios.get((batch, body), [])
            every_rps += rr
            every_p99 += pr
            cr = per_cpu_ratios.get((batch, body), [])
            every_cpu += cr
            if rr:
                out.append(f"| {label} | {body_label} | {fmt_ratio(median_or_none(rr))} "
                           f"({min(rr):.2f}–{max(rr):.2f}) | {fmt_ratio(median_or_none(pr))} "
                           f"({min(pr):.2f}–{max(pr):.2f}) | {fmt_ratio(median_or_none(cr))} |")
        if every_rps:
            out.append(f"| {label} | **all** | **{fmt_ratio(median_or_none(every_rps))}** | "
                       f"**{fmt_ratio(median_or_none(every_p99))}** | **{fmt_ratio(median_or_none(every_cpu))}** |")

    if memory:
        out.append("")
        out.append("## Peak resident memory")
        out.append("")
        out.append("VmHWM of the server process tree after all its timed runs (every body and concurrency), "
                   "the largest over repetitions, in MiB; × : xinfer / peer at the same thread count.")
        out.append("")
        out.append("| threads | peer | xinfer batching off | xinfer batching on |")
        out.append("|---|---:|---:|---:|")
        peak = defaultdict(int)
        for m in memory:
            key = (m["server"], m["max_batch"], m["threads"])
            peak[key] = max(peak[key], m["peak_rss_kb"])
        for threads in threads_list:
            peer = peak.get(("peer", 0, threads))
            row = [str(threads), fmt(peer / 1024 if peer else None)]
            for batch, _ in XINFER_CONFIGS:
                x = peak.get(("xinfer", batch, threads))
                row.append(f"{fmt(x / 1024 if x else None)} ({fmt_ratio(ratio(x, peer))})")
            out.append("| " + " | ".join(row) + " |")

    if reps > 1:
        spreads = []
        for key, rs in runs.items():
            values = [r["rps"] for r in rs]
            if len(values) > 1 and statistics.median(values) > 0:
                spreads.append(((max(values) - min(values)) / statistics.median(values), key))
        if spreads:
            spreads.sort()
            worst, (server, batch, body, threads, c) = spreads[-1]
            config = "peer" if server == "peer" else f"xinfer --max-batch {batch}"
            out.append("")
            out.append(f"Noise: the repetitions' throughput differs by a median {statistics.median(s for s, _ in spreads):.1%} "
                       f"of its median; worst {worst:.1%} ({config}, {body}, {threads} thread(s), concurrency {c}).")
    print("\n".join(out))


if __name__ == "__main__":
    main()
