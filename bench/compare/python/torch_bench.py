#!/usr/bin/python3
"""xinfer's Python module against PyTorch on MobileNetV2 1.0/224, side by side in one process.

Both run torchvision's MobileNetV2 architecture with the weights of mobilenetv2_tv_fp32.onnx (shared data): xinfer
loads the ONNX file (its batch dimension made free), PyTorch gets the same initializers copied into
torchvision.models.mobilenet_v2, matched by order and shape (the export folded each batch norm into its
convolution, so the batch norms are set to identities). The two are checked to agree within 1e-3 on a photo before
anything is timed. PyTorch fp32 runs twice: eager (the plain nn.Module) and as TorchScript passed through
torch.jit.optimize_for_inference (its CPU inference path: frozen, oneDNN convolutions); the ratio column compares
xinfer with the faster of the two.

int8: xinfer.quantize (default settings) and PyTorch's eager post-training static quantization of
torchvision.models.quantization.mobilenet_v2 (fused conv+bn+relu, the default qconfig of the backend: x86 or fbgemm
when this PyTorch has them, else onednn, else qnnpack), both calibrated on the same photos.

Timing: for each batch size, thread count and precision, the two engines alternate call by call (xinfer, torch,
xinfer, ...) after a warm-up; the table gives each one's median. The Python call overhead of the module is the
median of model.run() from Python minus the median of the same call timed in C++ (Model._bench_cpp), on a tiny
built-in model where the overhead is visible.

Usage: /usr/bin/python3 bench/compare/python/torch_bench.py [--runs 50] [--warmup 5] [--calib 16]
                                                           [--batches 1,8] [--threads 1,2] [--shared DIR]
The module comes from $XINFER_PYTHON_DIR (default build/python, then build-tests/python).
"""
import argparse
import os
import pathlib
import statistics
import sys
import time

import warnings

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[3]
for candidate in (os.environ.get("XINFER_PYTHON_DIR"), REPO / "build" / "python", REPO / "build-tests" / "python"):
    if candidate and pathlib.Path(candidate).is_dir():
        sys.path.insert(0, str(candidate))
        break

import onnx  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from torch.ao import quantization as tq  # noqa: E402

import xinfer  # noqa: E402

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def cpu_model():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def load_average():
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def photo_batch(paths):
    """Photos (224x224) as an NCHW float32 batch with torchvision's ImageNet normalisation."""
    images = []
    for p in paths:
        rgb = xinfer.load_image(p).astype(np.float32) / np.float32(255)
        assert rgb.shape == (224, 224, 3), (p, rgb.shape)
        images.append(((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(images), dtype=np.float32)


def onnx_with_free_batch(path):
    """The ONNX file's bytes with the batch dimension of its inputs and outputs made free ("batch")."""
    proto = onnx.load(str(path))
    for value in list(proto.graph.input) + list(proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    del proto.graph.value_info[:]
    return proto, proto.SerializeToString()


def copy_onnx_weights(proto, net):
    """Copies each Conv's (weight, bias) and the classifier's Gemm from the ONNX graph into a torchvision
    MobileNetV2 (or its quantizable variant): convolutions in order, each batch norm made an identity carrying the
    folded bias. Shapes are checked pair by pair."""
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    gemms = [n for n in proto.graph.node if n.op_type == "Gemm"]
    modules = list(net.features.modules())
    torch_convs = [m for m in modules if isinstance(m, torch.nn.Conv2d)]
    torch_bns = [m for m in modules if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == len(torch_convs) == len(torch_bns) == 52, (len(convs), len(torch_convs), len(torch_bns))
    assert len(gemms) == 1
    with torch.no_grad():
        for node, conv, bn in zip(convs, torch_convs, torch_bns):
            w, b = inits[node.input[1]], inits[node.input[2]]
            assert tuple(conv.weight.shape) == w.shape and bn.num_features == b.shape[0], (node.name, w.shape)
            conv.weight.copy_(torch.tensor(w))
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.tensor(b))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)  # sqrt(var + eps) == 1
        fc = net.classifier[1]
        w, b = inits[gemms[0].input[1]], inits[gemms[0].input[2]]
        assert tuple(fc.weight.shape) == w.shape
        fc.weight.copy_(torch.tensor(w))
        fc.bias.copy_(torch.tensor(b))
    return net.eval()


def quantization_backend():
    engines = torch.backends.quantized.supported_engines
    for name in ("x86", "fbgemm", "onednn", "qnnpack"):
        if name in engines:
            return name
    raise SystemExit(f"this PyTorch has no quantized engine ({engines})")


def torch_int8(proto, calibration, backend):
    net = torchvision.models.quantization.mobilenet_v2(weights=None, quantize=False)
    copy_onnx_weights(proto, net)
    net.eval()
    net.fuse_model()
    torch.backends.quantized.engine = backend
    net.qconfig = tq.get_default_qconfig(backend)
    tq.prepare(net, inplace=True)
    with torch.inference_mode():
        for x in calibration:
            net(torch.from_numpy(x))
    tq.convert(net, inplace=True)
    return net


def median_ms(seconds):
    return statistics.median(seconds) * 1e3


def time_interleaved(calls, runs, warmup):
    """Calls each function `warmup` times, then `runs` times in turn; returns each one's list of seconds."""
    for _ in range(warmup):
        for call in calls:
            call()
    times = [[] for _ in calls]
    for _ in range(runs):
        for k, call in enumerate(calls):
            t0 = time.perf_counter()
            call()
            times[k].append(time.perf_counter() - t0)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="timed calls per engine and case (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per engine first (default 5)")
    parser.add_argument("--calib", type=int, default=16, help="calibration photos for int8 (default 16)")
    parser.add_argument("--batches", default="1,8", help="batch sizes (default 1,8)")
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--shared", default=os.environ.get("XINFER_SHARED_DATA", REPO.parent / "shared" / "data"),
                        help="the shared data folder (default ../shared/data)")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    thread_counts = [int(t) for t in args.threads.split(",")]
    shared = pathlib.Path(args.shared)
    model_path = shared / "models" / "mobilenetv2_tv_fp32.onnx"
    photos = sorted((shared / "photos").glob("*.png"))
    if not model_path.exists() or len(photos) < args.calib + max(batches):
        raise SystemExit(f"needs {model_path} and at least {args.calib + max(batches)} photos in {shared}/photos")

    # torchvision's quantizable blocks without a residual keep an addition whose observer never runs: PyTorch
    # warns about it at conversion, harmlessly.
    warnings.filterwarnings("ignore", message="must run observer before calling calculate_qparams")
    backend = quantization_backend()
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs), load average {load_average()}")
    print(f"xinfer {xinfer.__version__} (Python module), PyTorch {torch.__version__}, torchvision "
          f"{torchvision.__version__}, int8 backend {backend}; {args.runs} runs per case, interleaved")

    proto, onnx_bytes = onnx_with_free_batch(model_path)
    x_fp32 = xinfer.Model.from_bytes(onnx_bytes)
    t_fp32 = copy_onnx_weights(proto, torchvision.models.mobilenet_v2(weights=None))

    calibration_paths = photos[:args.calib]
    held_out = photo_batch(photos[args.calib:args.calib + max(batches)])
    calibration = [photo_batch([p]) for p in calibration_paths]

    with torch.no_grad():
        t_fp32_jit = torch.jit.optimize_for_inference(torch.jit.script(t_fp32))

    # The fp32 networks must compute the same function before their speed means anything.
    x_check = torch.from_numpy(held_out[:1])
    got = x_fp32.run(held_out[:1])[0]
    for name, net in (("eager", t_fp32), ("TorchScript", t_fp32_jit)):
        with torch.inference_mode():
            want = net(x_check).numpy()
        diff = float(np.abs(got - want).max())
        print(f"fp32 check against PyTorch {name} on {photos[args.calib].name}: max |logit difference| "
              f"{diff:.2e} (logits up to {np.abs(want).max():.2f}), same top-1: {np.argmax(got) == np.argmax(want)}")
        if not diff <= 1e-3:
            raise SystemExit("the xinfer and PyTorch fp32 models disagree: not timing them")

    t0 = time.perf_counter()
    x_int8 = xinfer.quantize(x_fp32, calibration)
    x_quant_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    t_int8 = torch_int8(proto, calibration, backend)
    t_quant_s = time.perf_counter() - t0
    # int8 against fp32 on every photo not used for calibration. This network has random weights and nearly tied
    # logits, so top-1 agreement is a harsh measure here; the relative RMS error of the logits is the steadier one.
    rest = photo_batch(photos[args.calib:])
    with torch.inference_mode():
        ref = t_fp32(torch.from_numpy(rest)).numpy()
        t_q = t_int8(torch.from_numpy(rest)).numpy()
    x_q = np.concatenate([x_int8.run(rest[i:i + 8])[0] for i in range(0, len(rest), 8)])

    def fidelity(q):
        top1 = float(np.mean(np.argmax(q, 1) == np.argmax(ref, 1)))
        error = np.sqrt(np.mean((q - ref) ** 2) / np.mean(ref ** 2))
        return f"top-1 agreement {top1:.2f}, relative RMS logit error {error:.3f}"

    print(f"int8 against fp32 on {len(rest)} photos not used for calibration: xinfer {fidelity(x_q)}; "
          f"PyTorch {fidelity(t_q)} (quantization took {x_quant_s:.1f} s and {t_quant_s:.1f} s)")

    rows = []
    cases = (("fp32", x_fp32, [t_fp32, t_fp32_jit]), ("int8", x_int8, [t_int8]))
    for precision, xm, torch_nets in cases:
        for batch in batches:
            x = np.ascontiguousarray(held_out[:batch])
            tx = torch.from_numpy(x)
            for threads in thread_counts:
                torch.set_num_threads(threads)
                calls = [lambda: xm.run(x, threads=threads)]
                for net in torch_nets:
                    def run_torch(net=net):
                        with torch.inference_mode():
                            net(tx)
                    calls.append(run_torch)
                times = [median_ms(t) for t in time_interleaved(calls, args.runs, args.warmup)]
                eager = times[1]
                script = times[2] if len(times) > 2 else None
                rows.append((precision, batch, threads, times[0], eager, script))
                print(f"  {precision} batch {batch} threads {threads}: xinfer {times[0]:.2f} ms, PyTorch "
                      + ", ".join(f"{t:.2f} ms" for t in times[1:]) + f" (load {load_average()})", flush=True)

    print()
    print("| precision | batch | threads | xinfer ms | PyTorch eager ms | PyTorch TorchScript ms "
          "| xinfer / best PyTorch |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for precision, batch, threads, xms, eager, script in rows:
        best = min(eager, script) if script is not None else eager
        script_text = f"{script:.2f}" if script is not None else "-"
        print(f"| {precision} | {batch} | {threads} | {xms:.2f} | {eager:.2f} | {script_text} | {xms / best:.2f} |")

    # The module's own cost per call: Python run() against the same C++ call timed in a C++ loop.
    tiny = xinfer.Model("builtin:mobilenet_v2?alpha=0.35&size=32&classes=10")
    xt = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    runs = max(args.runs, 200)
    for _ in range(args.warmup):
        tiny.run(xt)
    cpp = []
    py = []
    for _ in range(5):  # alternate blocks of both, so that drifts in load hit both alike
        cpp += tiny._bench_cpp(xt, runs // 5)
        for _ in range(runs // 5):
            t0 = time.perf_counter()
            tiny.run(xt)
            py.append(time.perf_counter() - t0)
    cpp_us, py_us = statistics.median(cpp) * 1e6, statistics.median(py) * 1e6
    print()
    print(f"Python call overhead (builtin:mobilenet_v2?alpha=0.35&size=32, batch 1, {runs} calls each): "
          f"run() from Python {py_us:.1f} us, the C++ call {cpp_us:.1f} us, overhead {py_us - cpp_us:.1f} us/call")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
