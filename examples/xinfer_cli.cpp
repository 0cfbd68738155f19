// xinfer: the command-line tool. Scripts and benchmarks drive these forms; keep them stable.
//   xinfer run     --model M --input X.npy [--input X2.npy ...] --output Y.npy [--output Y2.npy ...] [--threads N]
//   xinfer bench   --model M [--threads N] [--runs R] [--warmup W] [--batch B] [--json] [--no-fuse]
//   xinfer inspect --model M [--batch B]
//   xinfer profile --model M [--threads N] [--runs R] [-o trace.json] [--no-fuse]   (per-op table; Chrome trace)
//   (--no-fuse: one step per layer instead of one per inverted-residual block; same results)
//   xinfer classify --model M [--top K] [--tsv] [preprocessing flags] IMAGE...
//   xinfer convert  IN -o OUT.xinf [preprocessing flags]    (-o OUT.onnx: ONNX export, int8 layers as QDQ)
//   xinfer quantize --model M --calib DIR|IMAGE [--calib ...] [--method minmax|percentile|entropy|mse]
//                   [--keep-fp32 NODE,...] [--auto-fp32 K] [--weight-bits B] [--offset I] [--limit N] -o OUT.xinf
//   xinfer validate --model FP32 --quantized INT8 --images DIR|IMAGE [--images ...] [--offset I] [--limit N] [--json]
//   (quantize and validate take the preprocessing flags too, for models that do not store it)
// Preprocessing flags: --scale S (e.g. 1/255) --mean m1,m2,m3 --std s1,s2,s3 --size WxH --resize stretch|crop
//                      --labels FILE|a,b,...   (classify: override what the model stores; convert: store them)
// M is a model file (.xinf, .onnx, TF.js model.json) or a built-in architecture, e.g.
// "builtin:mobilenet_v2?alpha=1.0&size=224".
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <array>
#include <filesystem>
#include <xtensor/xnpy.hpp>

#define XINFER_STB_IMPLEMENTATION
#include "image_file.hpp"
#include "xinfer/xinfer.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using xinfer::Error;
using xinfer::ErrorCode;

const char* kUsage =
    "usage: xinfer <command> [options]\n"
    "  run      --model M --input X.npy [--input ...] --output Y.npy [--output ...] [--threads N]\n"
    "  bench    --model M [--threads N] [--runs R] [--warmup W] [--batch B] [--json] [--no-fuse]\n"
    "  inspect  --model M [--batch B]\n"
    "  profile  --model M [--threads N] [--runs R] [-o trace.json] [--no-fuse]\n"
    "  classify --model M [--top K] [--tsv] [--threads N] [preprocessing] IMAGE...\n"
    "  convert  IN -o OUT.xinf [preprocessing]   (or -o OUT.onnx: ONNX export, int8 layers as QDQ)\n"
    "  quantize --model M --calib DIR|IMAGE [...] [--method minmax|percentile|entropy|mse] [--keep-fp32 NODE,...]\n"
    "           [--auto-fp32 K] [--weight-bits B] [--offset I] [--limit N] -o OUT.xinf\n"
    "  validate --model FP32 --quantized INT8 --images DIR|IMAGE [...] [--offset I] [--limit N] [--json]\n"
    "preprocessing: --scale S (e.g. 1/255) --mean m1,m2,m3 --std s1,s2,s3 --size WxH --resize stretch|crop\n"
    "               --labels FILE|a,b,...\n"
    "M: a .xinf, .onnx or TF.js model.json file, or builtin:mobilenet_v2?alpha=1.0&size=224[&classes=1000&seed=42]\n";

// --flag value pairs (repeatable), --switches, and positional arguments.
struct Args {
    std::map<std::string, std::vector<std::string>> values;
    std::vector<std::string> switches, positional;

    Args(int argc, char** argv, const std::vector<std::string>& switch_names) {
        for (int i = 2; i < argc; ++i) {
            const std::string a = argv[i];
            if (a.size() < 2 || a[0] != '-') {
                positional.push_back(a);
            } else if (std::find(switch_names.begin(), switch_names.end(), a) != switch_names.end()) {
                switches.push_back(a);
            } else {
                XINFER_CHECK(i + 1 < argc, ErrorCode::invalid_argument, a, " needs a value");
                values[a].push_back(argv[++i]);
            }
        }
    }
    bool has(const std::string& s) const { return std::count(switches.begin(), switches.end(), s) > 0; }
    std::string get(const std::string& k, const std::string& fallback = "") const {
        auto it = values.find(k);
        return it == values.end() ? fallback : it->second.back();
    }
    std::string need(const std::string& k) const {
        auto it = values.find(k);
        XINFER_CHECK(it != values.end(), ErrorCode::invalid_argument, "missing ", k);
        return it->second.back();
    }
    std::vector<std::string> all(const std::string& k) const {
        auto it = values.find(k);
        return it == values.end() ? std::vector<std::string>{} : it->second;
    }
    int get_int(const std::string& k, int fallback, int lo, int hi) const {
        const std::string v = get(k);
        if (v.empty()) return fallback;
        size_t used = 0;
        int n = 0;
        try {
            n = std::stoi(v, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        XINFER_CHECK(used == v.size() && n >= lo && n <= hi, ErrorCode::invalid_argument, k, " must be an integer in [",
                     lo, ", ", hi, "], got '", v, "'");
        return n;
    }
};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double peak_rss_mb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

xinfer::Model load_model(const Args& args, int threads, double* load_ms = nullptr) {
    xinfer::ModelOptions o;
    o.threads = threads;
    o.fuse_blocks = !args.has("--no-fuse");
    const auto t0 = Clock::now();
    xinfer::Model m = xinfer::Model::load(args.need("--model"), o);
    if (load_ms) *load_ms = ms_since(t0);
    return m;
}

// A concrete input shape: the model's, with -1 (any) dimensions set to `batch` (dim 0) or rejected.
xinfer::Shape concrete_shape(const xinfer::TensorSpec& spec, int batch) {
    xinfer::Shape s = spec.shape;
    for (size_t d = 0; d < s.size(); ++d)
        if (s[d] < 0) {
            XINFER_CHECK(d == 0, ErrorCode::invalid_argument, "input '", spec.name, "' has a free dimension ", d,
                         " (shape ", xinfer::to_string(spec.shape), "): use `xinfer run` with a concrete input");
            s[d] = batch;
        }
    return s;
}

int cmd_run(const Args& args) {
    const int threads = args.get_int("--threads", 1, 1, 256);
    const xinfer::Model model = load_model(args, threads);
    const auto in_paths = args.all("--input"), out_paths = args.all("--output");
    XINFER_CHECK(in_paths.size() == model.inputs().size(), ErrorCode::invalid_argument, "the model has ",
                 model.inputs().size(), " input(s); got ", in_paths.size(), " --input");
    XINFER_CHECK(out_paths.size() == model.outputs().size(), ErrorCode::invalid_argument, "the model has ",
                 model.outputs().size(), " output(s); got ", out_paths.size(), " --output");
    std::vector<xt::xarray<float>> inputs;
    for (size_t i = 0; i < in_paths.size(); ++i) {
        try {
            inputs.push_back(xt::load_npy<float>(in_paths[i]));
        } catch (const std::exception& e) {
            XINFER_THROW(ErrorCode::io, in_paths[i], ": cannot read a float32 .npy array for input '",
                         model.inputs()[i].name, "' (", e.what(), ")");
        }
    }
    xinfer::RunOptions ro;
    ro.threads = threads;
    const auto outputs = model.run(inputs, ro);
    for (size_t i = 0; i < outputs.size(); ++i) {
        try {
            xt::dump_npy(out_paths[i], outputs[i]);
        } catch (const std::exception& e) {
            XINFER_THROW(ErrorCode::io, out_paths[i], ": cannot write (", e.what(), ")");
        }
    }
    return 0;
}

int cmd_bench(const Args& args) {
    const int threads = args.get_int("--threads", 1, 1, 256);
    const int runs = args.get_int("--runs", 100, 1, 1000000);
    const int warmup = args.get_int("--warmup", std::min(10, std::max(1, runs / 10)), 0, 1000000);
    const int batch = args.get_int("--batch", 1, 1, 4096);
    double load_ms = 0;
    const xinfer::Model model = load_model(args, threads, &load_ms);
    std::vector<xt::xarray<float>> inputs;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(0.0f, 1.0f);
    std::vector<xinfer::Shape> shapes;
    for (auto& spec : model.inputs()) {
        shapes.push_back(concrete_shape(spec, batch));
        std::vector<size_t> dims(shapes.back().begin(), shapes.back().end());
        inputs.push_back(xt::xarray<float>::from_shape(dims));
        for (auto& v : inputs.back()) v = dist(rng);
    }
    std::vector<const float*> ptrs;
    for (auto& x : inputs) ptrs.push_back(x.data());
    std::vector<xt::xarray<float>> outputs;
    xinfer::RunOptions ro;
    ro.threads = threads;
    auto t0 = Clock::now();
    model.run(ptrs, shapes, outputs, ro);  // cold: plans, allocates and touches the arena for the first time
    const double cold_ms = ms_since(t0);
    for (int i = 0; i < warmup; ++i) model.run(ptrs, shapes, outputs, ro);
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        t0 = Clock::now();
        model.run(ptrs, shapes, outputs, ro);
        times.push_back(ms_since(t0));
    }
    std::sort(times.begin(), times.end());
    auto pct = [&](double q) { return times[std::min(times.size() - 1, size_t(q * double(times.size() - 1) + 0.5))]; };
    size_t macs = 0;
    {
        const auto plan = model.executor().plan(shapes, threads);
        for (size_t s = 0; s < model.executor().steps().size(); ++s) {
            const auto& st = model.executor().steps()[s];
            macs += st.op->macs(plan.step_inputs[s], plan.shapes[size_t(st.output)]);
        }
    }
    const double median = pct(0.5);
    if (args.has("--json")) {
        std::printf(
            "{\"model\": \"%s\", \"threads\": %d, \"batch\": %d, \"runs\": %d, \"median_ms\": %.4f, \"p90_ms\": %.4f, "
            "\"min_ms\": %.4f, \"max_ms\": %.4f, \"cold_ms\": %.4f, \"load_ms\": %.4f, \"peak_rss_mb\": %.2f, "
            "\"macs\": %zu, \"gmacs_per_s\": %.3f}\n",
            args.need("--model").c_str(), threads, batch, runs, median, pct(0.9), times.front(), times.back(), cold_ms,
            load_ms, peak_rss_mb(), macs, double(macs) / (median * 1e6));
    } else {
        std::printf("model      %s\nthreads    %d   batch %d   runs %d (after %d warm-up)\n", args.need("--model").c_str(),
                    threads, batch, runs, warmup);
        std::printf("median     %.3f ms   p90 %.3f ms   min %.3f ms\n", median, pct(0.9), times.front());
        std::printf("cold run   %.3f ms   load %.3f ms\n", cold_ms, load_ms);
        std::printf("work       %.2f M MACs -> %.2f GMAC/s at the median\n", double(macs) / 1e6,
                    double(macs) / (median * 1e6));
        std::printf("peak RSS   %.1f MB\n", peak_rss_mb());
    }
    return 0;
}

// Per-op wall times over R runs: a table (time, share, MACs, GMAC/s, output bytes) and, with -o, a Chrome trace
// (chrome://tracing, Perfetto) of the median run's ops.
int cmd_profile(const Args& args) {
    const int threads = args.get_int("--threads", 1, 1, 256);
    const int runs = args.get_int("--runs", 50, 1, 1000000);
    const xinfer::Model model = load_model(args, threads);
    const auto& ex = model.executor();
    std::vector<xinfer::Shape> shapes;
    std::vector<xt::xarray<float>> inputs;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(0.0f, 1.0f);
    for (auto& spec : model.inputs()) {
        shapes.push_back(concrete_shape(spec, 1));
        inputs.push_back(xt::xarray<float>::from_shape(std::vector<size_t>(shapes.back().begin(), shapes.back().end())));
        for (auto& v : inputs.back()) v = dist(rng);
    }
    std::vector<const float*> ptrs;
    for (auto& x : inputs) ptrs.push_back(x.data());
    std::vector<xt::xarray<float>> outputs;
    std::vector<double> ns;
    xinfer::RunOptions ro;
    ro.threads = threads;
    ro.op_ns = &ns;
    model.run(ptrs, shapes, outputs, ro);  // warm-up
    std::vector<std::vector<double>> per_op(ex.steps().size());
    for (int r = 0; r < runs; ++r) {
        model.run(ptrs, shapes, outputs, ro);
        for (size_t s = 0; s < ns.size(); ++s) per_op[s].push_back(ns[s]);
    }
    const auto plan = ex.plan(shapes, threads);
    std::vector<double> median(per_op.size());
    double total = 0;
    for (size_t s = 0; s < per_op.size(); ++s) {
        std::sort(per_op[s].begin(), per_op[s].end());
        median[s] = per_op[s][per_op[s].size() / 2];
        total += median[s];
    }
    std::printf("%-4s %-28s %-34s %9s %6s %10s %8s %10s\n", "#", "layer", "op / kernel", "ms", "share", "MACs",
                "GMAC/s", "out bytes");
    for (size_t s = 0; s < per_op.size(); ++s) {
        const auto& st = ex.steps()[s];
        const size_t macs = st.op->macs(plan.step_inputs[s], plan.shapes[size_t(st.output)]);
        const size_t bytes =
            xinfer::checked_numel(plan.shapes[size_t(st.output)]) * xinfer::size_of(st.op->output_dtype());
        std::printf("%-4zu %-28s %-34s %9.4f %5.1f%% %10zu %8.2f %10zu\n", s, st.name.c_str(), st.op->kind().c_str(),
                    median[s] / 1e6, 100.0 * median[s] / total, macs, median[s] > 0 ? double(macs) / median[s] : 0.0,
                    bytes);
    }
    std::printf("sum of op medians %.3f ms over %d runs, %d thread(s)\n", total / 1e6, runs, threads);
    const std::string trace = args.get("-o");
    if (!trace.empty()) {
        std::ofstream out(trace);
        XINFER_CHECK(out, ErrorCode::io, trace, ": cannot write");
        out << "{\"traceEvents\": [";
        double t = 0;
        for (size_t s = 0; s < per_op.size(); ++s) {
            const auto& st = ex.steps()[s];
            out << (s ? ",\n" : "\n") << "{\"name\": " << nlohmann::json(st.name).dump()
                << ", \"cat\": " << nlohmann::json(st.op->kind()).dump() << ", \"ph\": \"X\", \"pid\": 1, \"tid\": 1"
                << ", \"ts\": " << t / 1e3 << ", \"dur\": " << median[s] / 1e3 << "}";
            t += median[s];
        }
        out << "\n], \"displayTimeUnit\": \"ms\"}\n";
        std::printf("wrote %s\n", trace.c_str());
    }
    return 0;
}

int cmd_inspect(const Args& args) {
    const int batch = args.get_int("--batch", 1, 1, 4096);
    const xinfer::Model model = load_model(args, 1);
    const auto& ex = model.executor();
    std::vector<xinfer::Shape> shapes;
    for (auto& spec : model.inputs()) shapes.push_back(concrete_shape(spec, batch));
    const auto plan = ex.plan(shapes, 1);
    for (auto& spec : model.inputs())
        std::printf("input   %-24s %s %s\n", spec.name.c_str(), xinfer::to_string(spec.dtype),
                    xinfer::to_string(spec.shape).c_str());
    for (auto& spec : model.outputs())
        std::printf("output  %-24s %s %s\n", spec.name.c_str(), xinfer::to_string(spec.dtype),
                    xinfer::to_string(spec.shape).c_str());
    std::printf("\n%-4s %-28s %-34s %-20s %10s %12s\n", "#", "layer", "op / kernel", "output", "params", "MACs");
    size_t total_macs = 0, total_params = 0;
    std::map<std::string, size_t> params_of;
    for (auto& node : model.graph().nodes) {
        size_t n = 0;
        for (size_t i = 1; i < node.inputs.size(); ++i)
            if (model.graph().is_constant(node.inputs[i])) n += model.graph().constants.at(node.inputs[i]).numel();
        params_of[node.name] = n;
    }
    for (size_t s = 0; s < ex.steps().size(); ++s) {
        const auto& st = ex.steps()[s];
        const auto& out = plan.shapes[size_t(st.output)];
        const size_t macs = st.op->macs(plan.step_inputs[s], out);
        total_macs += macs;
        total_params += params_of[st.name];
        std::printf("%-4zu %-28s %-34s %-20s %10zu %12zu\n", s, st.name.c_str(), st.op->kind().c_str(),
                    xinfer::to_string(out).c_str(), params_of[st.name], macs);
    }
    std::printf("\nlayers %zu   parameters %zu (%.2f MB as float32)   MACs %.2f M (batch %d)\n", ex.steps().size(),
                total_params, double(total_params) * 4 / 1e6, double(total_macs) / 1e6, batch);
    std::printf("activation arena %.2f MB + op workspace %.2f MB (planned before the first run)\n",
                double(plan.activation_bytes) / 1e6, double(plan.workspace_bytes) / 1e6);
    if (!model.metadata().labels.empty()) std::printf("labels %zu\n", model.metadata().labels.size());
    return 0;
}

// A number, or a fraction "a/b".
float parse_number(const std::string& flag, const std::string& text) {
    try {
        size_t used = 0;
        const size_t slash = text.find('/');
        if (slash != std::string::npos) {
            const double a = std::stod(text.substr(0, slash)), b = std::stod(text.substr(slash + 1), &used);
            if (used == text.size() - slash - 1 && b != 0) return float(a / b);
        } else {
            const double v = std::stod(text, &used);
            if (used == text.size()) return float(v);
        }
    } catch (const std::exception&) {
    }
    XINFER_THROW(ErrorCode::invalid_argument, flag, ": '", text, "' is not a number");
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, sep);) parts.push_back(part);
    return parts;
}

std::array<float, 3> parse_triple(const std::string& flag, const std::string& text) {
    const auto parts = split(text, ',');
    XINFER_CHECK(parts.size() == 3, ErrorCode::invalid_argument, flag, " needs three comma-separated values, got '",
                 text, "'");
    return {parse_number(flag, parts[0]), parse_number(flag, parts[1]), parse_number(flag, parts[2])};
}

// --labels FILE (one label per line) or a comma-separated list.
std::vector<std::string> parse_labels(const std::string& text) {
    std::ifstream file(text);
    std::vector<std::string> labels;
    if (file) {
        for (std::string line; std::getline(file, line);)
            if (!line.empty()) labels.push_back(line);
        return labels;
    }
    labels = split(text, ',');
    XINFER_CHECK(!labels.empty(), ErrorCode::invalid_argument, "--labels: no labels in '", text, "'");
    return labels;
}

bool has_preprocessing_flags(const Args& args) {
    for (const char* f : {"--scale", "--mean", "--std", "--size", "--resize"})
        if (!args.get(f).empty()) return true;
    return false;
}

// The model's preprocessing with the flags applied on top; an error names the flags still missing.
xinfer::io::Preprocessing preprocessing_from_flags(const Args& args, const std::optional<xinfer::io::Preprocessing>& base) {
    xinfer::io::Preprocessing p = base.value_or(xinfer::io::Preprocessing{});
    if (!args.get("--scale").empty()) p.scale = parse_number("--scale", args.get("--scale"));
    if (!args.get("--mean").empty()) p.mean = parse_triple("--mean", args.get("--mean"));
    if (!args.get("--std").empty()) p.std = parse_triple("--std", args.get("--std"));
    if (!args.get("--resize").empty()) p.resize = xinfer::io::resize_policy_from_string(args.get("--resize"));
    if (!args.get("--size").empty()) {
        const auto wh = split(args.get("--size"), 'x');
        XINFER_CHECK(wh.size() == 2, ErrorCode::invalid_argument, "--size needs WxH, got '", args.get("--size"), "'");
        p.width = int(parse_number("--size", wh[0]));
        p.height = int(parse_number("--size", wh[1]));
    }
    XINFER_CHECK(base || (!args.get("--scale").empty() && !args.get("--size").empty()), ErrorCode::invalid_argument,
                 "the model does not store its preprocessing: pass at least --scale and --size (and --mean, --std, "
                 "--resize where they differ from 0, 1 and stretch)");
    p.validate();
    return p;
}

int cmd_convert(const Args& args) {
    XINFER_CHECK(args.positional.size() == 1, ErrorCode::invalid_argument, "convert: give one input model");
    const std::string out = args.need("-o");
    if (out.size() > 5 && out.compare(out.size() - 5, 5, ".onnx") == 0) {  // ONNX export (int8 layers as QDQ)
        const xinfer::Model m = xinfer::Model::load(args.positional[0]);
        const std::string bytes = m.to_onnx();
        std::ofstream f(out, std::ios::binary);
        f.write(bytes.data(), std::streamsize(bytes.size()));
        XINFER_CHECK(f.good(), ErrorCode::io, out, ": cannot write");
        std::printf("wrote %s: ONNX opset 13, %zu bytes\n", out.c_str(), bytes.size());
        return 0;
    }
    xinfer::io::XinfModel m = xinfer::Model::import_file(args.positional[0]);
    if (has_preprocessing_flags(args)) m.metadata.preprocessing = preprocessing_from_flags(args, m.metadata.preprocessing);
    if (!args.get("--labels").empty()) m.metadata.labels = parse_labels(args.get("--labels"));
    xinfer::optimize(m.graph);
    xinfer::Executor check(m.graph);  // every node must build before a file is written
    xinfer::io::save_xinf(out, m.graph, m.metadata);
    std::printf("wrote %s: %zu layers, %zu parameters, %zu labels, preprocessing %s\n", out.c_str(),
                check.steps().size(), m.graph.parameter_count(), m.metadata.labels.size(),
                m.metadata.preprocessing ? "stored" : "not stored");
    return 0;
}

int cmd_classify(const Args& args) {
    XINFER_CHECK(!args.positional.empty(), ErrorCode::invalid_argument, "classify: no image given");
    const int top = args.get_int("--top", 5, 1, 1000000);
    const xinfer::Model model = load_model(args, args.get_int("--threads", 1, 1, 256));
    const auto& stored = model.metadata().preprocessing;
    std::optional<xinfer::io::Preprocessing> pre;
    if (has_preprocessing_flags(args) || !stored) pre = preprocessing_from_flags(args, stored);
    std::vector<std::string> labels = args.get("--labels").empty() ? model.metadata().labels : parse_labels(args.get("--labels"));
    auto label = [&](size_t i) { return i < labels.size() ? labels[i] : "class " + std::to_string(i); };
    const bool tsv = args.has("--tsv");
    bool header = false;
    for (const auto& path : args.positional) {
        const auto img = xinfer::examples::load_rgb(path);
        const auto t0 = Clock::now();
        const auto probs = model.class_probabilities(img.pixels.get(), img.width, img.height, 0, pre ? &*pre : nullptr);
        const double ms = ms_since(t0);
        if (tsv) {
            if (!header) {
                std::printf("path");
                for (size_t i = 0; i < probs.size(); ++i) std::printf("\t%s", label(i).c_str());
                std::printf("\n");
                header = true;
            }
            std::printf("%s", path.c_str());
            for (float p : probs) std::printf("\t%.9g", p);
            std::printf("\n");
            continue;
        }
        std::printf("%s (%dx%d, %.2f ms)\n", path.c_str(), img.width, img.height, ms);
        for (const auto& p : model.top_classes(probs, top))
            std::printf("  %-24s %.5f\n", label(size_t(p.index)).c_str(), p.probability);
    }
    return 0;
}

// Image files named by --flag (directories: their image files, sorted), then --offset / --limit applied.
std::vector<std::string> image_paths(const Args& args, const std::string& flag) {
    std::vector<std::string> paths;
    for (const auto& p : args.all(flag)) {
        if (!std::filesystem::is_directory(p)) {
            paths.push_back(p);
            continue;
        }
        std::vector<std::string> found;
        for (const auto& e : std::filesystem::directory_iterator(p)) {
            std::string ext = e.path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
            if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp"))
                found.push_back(e.path().string());
        }
        std::sort(found.begin(), found.end());
        paths.insert(paths.end(), found.begin(), found.end());
    }
    const size_t offset = size_t(args.get_int("--offset", 0, 0, 1 << 30));
    const size_t limit = size_t(args.get_int("--limit", 1 << 30, 1, 1 << 30));
    paths.erase(paths.begin(), paths.begin() + long(std::min(offset, paths.size())));
    if (paths.size() > limit) paths.resize(limit);
    XINFER_CHECK(!paths.empty(), ErrorCode::invalid_argument, flag, ": no images found");
    return paths;
}

// The images as model inputs, preprocessed as the model says (preprocessing flags override it).
std::vector<xt::xarray<float>> image_inputs(const xinfer::Model& model, const std::vector<std::string>& paths,
                                            const Args& args) {
    const auto& stored = model.metadata().preprocessing;
    std::optional<xinfer::io::Preprocessing> pre;
    if (has_preprocessing_flags(args) || !stored) pre = preprocessing_from_flags(args, stored);
    std::vector<xt::xarray<float>> inputs;
    for (const auto& path : paths) {
        const auto img = xinfer::examples::load_rgb(path);
        inputs.push_back(model.image_input(img.pixels.get(), img.width, img.height, 0, pre ? &*pre : nullptr));
    }
    return inputs;
}

// A progress bar on a terminal; one final line otherwise (logs).
void progress_bar(const char* what, size_t done, size_t total) {
    if (!isatty(2)) {
        if (done == total) std::fprintf(stderr, "%s: %zu/%zu done\n", what, done, total);
        return;
    }
    const int width = 30, filled = total ? int(double(done) / double(total) * width) : width;
    std::fprintf(stderr, "\r%s [%s%s] %zu/%zu", what, std::string(size_t(filled), '#').c_str(),
                 std::string(size_t(width - filled), '.').c_str(), done, total);
    if (done == total) std::fputc('\n', stderr);
}

long file_bytes(const std::string& path) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path, ec);
    return ec ? -1 : long(n);
}

int cmd_quantize(const Args& args) {
    const std::string out = args.need("-o");
    const xinfer::Model model = load_model(args, 1);
    xinfer::quant::QuantizeOptions o;
    o.method = xinfer::quant::calibration_method_from_string(args.get("--method", "mse"));
    if (!args.get("--keep-fp32").empty())
        for (const auto& name : split(args.get("--keep-fp32"), ',')) o.keep_fp32.insert(name);
    o.auto_fp32 = args.get_int("--auto-fp32", 0, 0, 1000);
    o.weight_bits = args.get_int("--weight-bits", 8, 2, 8);
    o.progress = [](size_t done, size_t total) { progress_bar("calibrating", done, total); };
    const auto paths = image_paths(args, "--calib");
    const auto t0 = Clock::now();
    const xinfer::Model q = xinfer::quantize(model, image_inputs(model, paths, args), o);
    q.save(out);
    size_t int8_layers = 0;
    for (const auto& n : q.graph().nodes) int8_layers += xinfer::quant::is_int8_layer(n);
    const long source_bytes = file_bytes(args.need("--model"));  // -1 for a builtin: model
    std::printf("wrote %s: %zu int8 layers, method %s, %zu calibration images, %.1f s; %ld bytes", out.c_str(),
                int8_layers, xinfer::quant::to_string(o.method), paths.size(), ms_since(t0) / 1000, file_bytes(out));
    if (source_bytes >= 0) std::printf(" (fp32 source %ld)", source_bytes);
    std::printf("\n");
    return 0;
}

int cmd_validate(const Args& args) {
    const xinfer::Model fp32 = load_model(args, 1);
    const xinfer::Model int8 = xinfer::Model::load(args.need("--quantized"));
    const auto paths = image_paths(args, "--images");
    const auto rep = xinfer::compare_models(fp32, int8, image_inputs(fp32, paths, args));
    const long fp32_bytes = file_bytes(args.need("--model")), int8_bytes = file_bytes(args.need("--quantized"));
    const auto* worst = rep.worst_layer();
    if (args.has("--json")) {
        std::printf("{\"images\": %zu, \"top1_agreement\": %.6f, \"mean_abs_dp\": %.6g, \"max_abs_dp\": %.6g, "
                    "\"fp32_bytes\": %ld, \"int8_bytes\": %ld, \"layers\": [",
                    rep.rows, rep.top1_agreement, rep.mean_abs_dp, rep.max_abs_dp, fp32_bytes, int8_bytes);
        for (size_t i = 0; i < rep.layers.size(); ++i) {
            const auto& l = rep.layers[i];
            std::printf("%s{\"value\": \"%s\", \"op\": \"%s\", \"sqnr_db\": %.3f, \"cosine\": %.6f, "
                        "\"saturation\": %.6g}",
                        i ? ", " : "", l.value.c_str(), l.op.c_str(), l.sqnr_db, l.cosine, l.saturation);
        }
        std::printf("]}\n");
        return 0;
    }
    std::printf("%-48s %-20s %9s %9s %11s\n", "layer (output)", "op", "SQNR dB", "cosine", "saturated");
    for (const auto& l : rep.layers)
        std::printf("%-48s %-20s %9.2f %9.5f %10.4f%%\n", l.value.c_str(), l.op.c_str(), l.sqnr_db, l.cosine,
                    100 * l.saturation);
    std::printf("\nimages %zu: top-1 agreement %.2f%%, mean |dp| %.5f, max |dp| %.5f\n", rep.rows,
                100 * rep.top1_agreement, rep.mean_abs_dp, rep.max_abs_dp);
    if (worst) std::printf("lowest SQNR: %s (%s) %.2f dB\n", worst->value.c_str(), worst->op.c_str(), worst->sqnr_db);
    if (fp32_bytes > 0 && int8_bytes > 0)
        std::printf("model size: fp32 %ld bytes, int8 %ld bytes (%.1f%%)\n", fp32_bytes, int8_bytes,
                    100.0 * double(int8_bytes) / double(fp32_bytes));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string cmd = argv[1];
    try {
        const Args args(argc, argv, {"--json", "--tsv", "--no-fuse"});
        if (cmd == "run") return cmd_run(args);
        if (cmd == "bench") return cmd_bench(args);
        if (cmd == "inspect") return cmd_inspect(args);
        if (cmd == "profile") return cmd_profile(args);
        if (cmd == "classify") return cmd_classify(args);
        if (cmd == "convert") return cmd_convert(args);
        if (cmd == "quantize") return cmd_quantize(args);
        if (cmd == "validate") return cmd_validate(args);
        std::fprintf(stderr, "xinfer: unknown command '%s'\n%s", cmd.c_str(), kUsage);
        return 2;
    } catch (const Error& e) {
        std::fprintf(stderr, "xinfer %s: error: %s\n", cmd.c_str(), e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "xinfer %s: error: %s\n", cmd.c_str(), e.what());
        return 1;
    }
}
