// xinfer profile: per-op wall times over R runs, as a table (time, share, MACs, GMAC/s, output bytes) and, with
// -o, a Chrome trace (chrome://tracing, Perfetto) of the ops at their median times.
#include <algorithm>
#include <cstdio>
#include <fstream>

#include "common.hpp"

namespace xinfer::cli {
namespace {

// Each execution step's median time in nanoseconds over `runs` runs (after one warm-up run).
std::vector<double> median_step_ns(const xinfer::Model& model, const RandomInputs& in, int threads, int runs) {
    std::vector<xt::xarray<float>> outputs;
    std::vector<double> ns;
    xinfer::RunOptions ro;
    ro.threads = threads;
    ro.op_ns = &ns;
    model.run(in.pointers, in.shapes, outputs, ro);  // warm-up
    std::vector<std::vector<double>> per_op(model.executor().steps().size());
    for (int r = 0; r < runs; ++r) {
        model.run(in.pointers, in.shapes, outputs, ro);
        for (size_t s = 0; s < ns.size(); ++s) per_op[s].push_back(ns[s]);
    }
    std::vector<double> median(per_op.size());
    for (size_t s = 0; s < per_op.size(); ++s) {
        std::sort(per_op[s].begin(), per_op[s].end());
        median[s] = per_op[s][per_op[s].size() / 2];
    }
    return median;
}

void write_trace(const std::string& path, const xinfer::Executor& ex, const std::vector<double>& median) {
    std::ofstream out(path);
    XINFER_CHECK(out, ErrorCode::io, path, ": cannot write");
    out << "{\"traceEvents\": [";
    double t = 0;
    for (size_t s = 0; s < median.size(); ++s) {
        const auto& st = ex.steps()[s];
        out << (s ? ",\n" : "\n") << "{\"name\": " << nlohmann::json(st.name).dump()
            << ", \"cat\": " << nlohmann::json(st.op->kind()).dump() << ", \"ph\": \"X\", \"pid\": 1, \"tid\": 1"
            << ", \"ts\": " << t / 1e3 << ", \"dur\": " << median[s] / 1e3 << "}";
        t += median[s];
    }
    out << "\n], \"displayTimeUnit\": \"ms\"}\n";
}

int profile_main(const Args& args) {
    const int threads = args.get_int("--threads", 1, 1, 256);
    const int runs = args.get_int("--runs", 50, 1, 1000000);
    const xinfer::Model model = load_model(args, threads);
    const auto& ex = model.executor();
    const RandomInputs in(model, 1);
    const std::vector<double> median = median_step_ns(model, in, threads, runs);
    const auto plan = ex.plan(in.shapes, threads);
    double total = 0;
    for (double m : median) total += m;
    std::printf("%-4s %-28s %-34s %9s %6s %10s %8s %10s\n", "#", "layer", "op / kernel", "ms", "share", "MACs",
                "GMAC/s", "out bytes");
    for (size_t s = 0; s < median.size(); ++s) {
        const auto& st = ex.steps()[s];
        const size_t macs = step_macs(ex, plan, s);
        const size_t bytes =
            xinfer::checked_numel(plan.shapes[size_t(st.output)]) * xinfer::size_of(st.op->output_dtype());
        std::printf("%-4zu %-28s %-34s %9.4f %5.1f%% %10zu %8.2f %10zu\n", s, st.name.c_str(), st.op->kind().c_str(),
                    median[s] / 1e6, 100.0 * median[s] / total, macs, median[s] > 0 ? double(macs) / median[s] : 0.0,
                    bytes);
    }
    std::printf("sum of op medians %.3f ms over %d runs, %d thread(s)\n", total / 1e6, runs, threads);
    const std::string trace = args.get("-o");
    if (!trace.empty()) {
        write_trace(trace, ex, median);
        std::printf("wrote %s\n", trace.c_str());
    }
    return 0;
}

}  // namespace

Command profile_command() {
    return {"profile",
            "time each op of a model over R runs: a table of median times, shares, MACs, GMAC/s and output bytes",
            "--model M [--threads N] [--runs R] [-o trace.json] [--no-fuse]",
            "",
            {
                model_option(),
                threads_option(),
                {"--runs", "R", "timed runs (default 50)"},
                {"-o", "trace.json", "also write a Chrome trace (chrome://tracing, Perfetto) of the median times"},
                no_fuse_option(),
            },
            profile_main,
            kModelNote};
}

}  // namespace xinfer::cli
