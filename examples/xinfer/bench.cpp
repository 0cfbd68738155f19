// xinfer bench: a model's run time on random inputs (median, p90, min, the cold first run), its load time, MACs
// and peak memory; --json for scripts.
#include <algorithm>
#include <cstdio>

#include "common.hpp"

namespace xinfer::cli {
namespace {

struct BenchResult {
    std::vector<double> sorted_ms;  // the timed runs
    double cold_ms = 0;             // the first run: plans, allocates and touches the arena for the first time
    size_t macs = 0;

    double percentile(double q) const {
        return sorted_ms[std::min(sorted_ms.size() - 1, size_t(q * double(sorted_ms.size() - 1) + 0.5))];
    }
};

BenchResult time_runs(const xinfer::Model& model, int threads, int batch, int warmup, int runs) {
    const RandomInputs in(model, batch);
    std::vector<xt::xarray<float>> outputs;
    xinfer::RunOptions ro;
    ro.threads = threads;
    BenchResult r;
    auto t0 = Clock::now();
    model.run(in.pointers, in.shapes, outputs, ro);
    r.cold_ms = ms_since(t0);
    for (int i = 0; i < warmup; ++i) model.run(in.pointers, in.shapes, outputs, ro);
    for (int i = 0; i < runs; ++i) {
        t0 = Clock::now();
        model.run(in.pointers, in.shapes, outputs, ro);
        r.sorted_ms.push_back(ms_since(t0));
    }
    std::sort(r.sorted_ms.begin(), r.sorted_ms.end());
    r.macs = model.macs(in.shapes);
    return r;
}

int bench_main(const Args& args) {
    const int threads = args.get_int("--threads", 1, 1, 256);
    const int runs = args.get_int("--runs", 100, 1, 1000000);
    const int warmup = args.get_int("--warmup", std::min(10, std::max(1, runs / 10)), 0, 1000000);
    const int batch = args.get_int("--batch", 1, 1, 4096);
    double load_ms = 0;
    const xinfer::Model model = load_model(args, threads, &load_ms);
    const BenchResult r = time_runs(model, threads, batch, warmup, runs);
    const double median = r.percentile(0.5), p90 = r.percentile(0.9);
    const double min = r.sorted_ms.front(), max = r.sorted_ms.back();
    const std::string name = args.need("--model");
    if (args.has("--json")) {
        std::printf(
            "{\"model\": \"%s\", \"threads\": %d, \"batch\": %d, \"runs\": %d, \"median_ms\": %.4f, \"p90_ms\": %.4f, "
            "\"min_ms\": %.4f, \"max_ms\": %.4f, \"cold_ms\": %.4f, \"load_ms\": %.4f, \"peak_rss_mb\": %.2f, "
            "\"macs\": %zu, \"gmacs_per_s\": %.3f}\n",
            name.c_str(), threads, batch, runs, median, p90, min, max, r.cold_ms, load_ms, peak_rss_mb(), r.macs,
            double(r.macs) / (median * 1e6));
        return 0;
    }
    std::printf("model      %s\nthreads    %d   batch %d   runs %d (after %d warm-up)\n", name.c_str(), threads, batch,
                runs, warmup);
    std::printf("median     %.3f ms   p90 %.3f ms   min %.3f ms\n", median, p90, min);
    std::printf("cold run   %.3f ms   load %.3f ms\n", r.cold_ms, load_ms);
    std::printf("work       %.2f M MACs -> %.2f GMAC/s at the median\n", double(r.macs) / 1e6,
                double(r.macs) / (median * 1e6));
    std::printf("peak RSS   %.1f MB\n", peak_rss_mb());
    return 0;
}

}  // namespace

Command bench_command() {
    return {"bench",
            "time a model on random inputs: median, p90 and min run times, the cold run, load time, MACs, peak RSS",
            "--model M [--threads N] [--runs R] [--warmup W] [--batch B] [--json] [--no-fuse]",
            "",
            {
                model_option(),
                threads_option(),
                {"--runs", "R", "timed runs (default 100)"},
                {"--warmup", "W", "untimed runs before them (default R/10, at least 1, at most 10)"},
                {"--batch", "B", "batch size for a model whose batch dimension is free (default 1)"},
                {"--json", "", "print one JSON object (median_ms, p90_ms, min_ms, cold_ms, load_ms, peak_rss_mb, ...)"},
                no_fuse_option(),
            },
            bench_main,
            kModelNote};
}

}  // namespace xinfer::cli
