// xinfer profile: per-op wall times over R runs, as a table (time, share, MACs, GMAC/s, output bytes) and, with
// -o, a Chrome trace (chrome://tracing, Perfetto) of the ops at their median times.
#include <cstdio>
#include <fstream>

#include "common.hpp"

namespace xinfer::cli {
namespace {

void write_trace(const std::string& path, const xinfer::Profile& prof) {
    std::ofstream out(path);
    XINFER_CHECK(out, ErrorCode::io, path, ": cannot write");
    out << "{\"traceEvents\": [";
    double t = 0;
    for (size_t s = 0; s < prof.median_ns.size(); ++s) {
        const auto& layer = prof.plan.layers[s];
        out << (s ? ",\n" : "\n") << "{\"name\": " << nlohmann::json(layer.name).dump()
            << ", \"cat\": " << nlohmann::json(layer.kind).dump() << ", \"ph\": \"X\", \"pid\": 1, \"tid\": 1"
            << ", \"ts\": " << t / 1e3 << ", \"dur\": " << prof.median_ns[s] / 1e3 << "}";
        t += prof.median_ns[s];
    }
    out << "\n], \"displayTimeUnit\": \"ms\"}\n";
}

int profile_main(const Args& args) {
    const int threads = args.get_int("--threads", 1, 1, 256);
    const int runs = args.get_int("--runs", 50, 1, 1000000);
    const xinfer::Model model = load_model(args, threads);
    xinfer::ProfileOptions po;
    po.threads = threads;
    po.runs = runs;
    const xinfer::Profile prof = model.profile(model.input_shapes(1), po);
    const double total = prof.total_ns;
    std::printf("%-4s %-28s %-34s %9s %6s %10s %8s %10s\n", "#", "layer", "op / kernel", "ms", "share", "MACs",
                "GMAC/s", "out bytes");
    for (size_t s = 0; s < prof.median_ns.size(); ++s) {
        const auto& layer = prof.plan.layers[s];
        const double median = prof.median_ns[s];
        const size_t bytes = xinfer::checked_numel(layer.output_shape) * xinfer::size_of(layer.output_dtype);
        std::printf("%-4zu %-28s %-34s %9.4f %5.1f%% %10zu %8.2f %10zu\n", s, layer.name.c_str(), layer.kind.c_str(),
                    median / 1e6, 100.0 * median / total, layer.macs, median > 0 ? double(layer.macs) / median : 0.0,
                    bytes);
    }
    std::printf("sum of op medians %.3f ms over %d runs, %d thread(s)\n", total / 1e6, runs, threads);
    const std::string trace = args.get("-o");
    if (!trace.empty()) {
        write_trace(trace, prof);
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
