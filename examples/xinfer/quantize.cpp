// xinfer quantize: post-training int8 quantization, calibrated on images.
#include <unistd.h>

#include <cstdio>

#include "images.hpp"

namespace xinfer::cli {
namespace {

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

xinfer::quant::QuantizeOptions quantize_options(const Args& args) {
    xinfer::quant::QuantizeOptions o;
    o.method = xinfer::quant::calibration_method_from_string(args.get("--method", "mse"));
    if (!args.get("--keep-fp32").empty())
        for (const auto& name : split(args.get("--keep-fp32"), ',')) o.keep_fp32.insert(name);
    o.auto_fp32 = args.get_int("--auto-fp32", 0, 0, 1000);
    o.weight_bits = args.get_int("--weight-bits", 8, 2, 8);
    o.progress = [](size_t done, size_t total) { progress_bar("calibrating", done, total); };
    return o;
}

int quantize_main(const Args& args) {
    const std::string out = args.need("-o");
    const xinfer::Model model = load_model(args, 1);
    const xinfer::quant::QuantizeOptions o = quantize_options(args);
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

}  // namespace

Command quantize_command() {
    return {"quantize",
            "quantize a model to int8, calibrating its activation ranges on images",
            "--model M --calib DIR|IMAGE [...] [--method minmax|percentile|entropy|mse]\n"
            "[--keep-fp32 NODE,...] [--auto-fp32 K] [--weight-bits B] [--offset I] [--limit N]\n"
            "[preprocessing] -o OUT.xinf",
            "",
            with_preprocessing([] {
                std::vector<Option> o = {
                    model_option(),
                    {"--calib", "DIR|IMAGE", "calibration images: an image file, or a directory of them", true},
                    {"--method", "NAME", "activation ranges from minmax, percentile, entropy or mse (default mse)"},
                    {"--keep-fp32", "NODE,...", "layers to keep in fp32, by node name"},
                    {"--auto-fp32", "K", "also keep the K layers with the lowest SQNR in fp32 (default 0)"},
                    {"--weight-bits", "B", "weight bits, 2 to 8 (default 8; 7 suits AVX2 without VNNI)"},
                    {"-o", "OUT.xinf", "the int8 model to write"},
                };
                const auto range = image_range_options();
                o.insert(o.end() - 1, range.begin(), range.end());
                return o;
            }()),
            quantize_main,
            std::string("The preprocessing flags are for models that do not store theirs.\n") + kModelNote};
}

}  // namespace xinfer::cli
