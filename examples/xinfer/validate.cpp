// xinfer validate: an int8 model against its fp32 source on images: per-layer SQNR, cosine and saturation,
// top-1 agreement, probability differences and file sizes.
#include <cstdio>

#include "images.hpp"

namespace xinfer::cli {
namespace {

void print_json(const xinfer::quant::QuantReport& rep, long fp32_bytes, long int8_bytes) {
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
}

void print_table(const xinfer::quant::QuantReport& rep, long fp32_bytes, long int8_bytes) {
    std::printf("%-48s %-20s %9s %9s %11s\n", "layer (output)", "op", "SQNR dB", "cosine", "saturated");
    for (const auto& l : rep.layers)
        std::printf("%-48s %-20s %9.2f %9.5f %10.4f%%\n", l.value.c_str(), l.op.c_str(), l.sqnr_db, l.cosine,
                    100 * l.saturation);
    std::printf("\nimages %zu: top-1 agreement %.2f%%, mean |dp| %.5f, max |dp| %.5f\n", rep.rows,
                100 * rep.top1_agreement, rep.mean_abs_dp, rep.max_abs_dp);
    if (const auto* worst = rep.worst_layer())
        std::printf("lowest SQNR: %s (%s) %.2f dB\n", worst->value.c_str(), worst->op.c_str(), worst->sqnr_db);
    if (fp32_bytes > 0 && int8_bytes > 0)
        std::printf("model size: fp32 %ld bytes, int8 %ld bytes (%.1f%%)\n", fp32_bytes, int8_bytes,
                    100.0 * double(int8_bytes) / double(fp32_bytes));
}

int validate_main(const Args& args) {
    const xinfer::Model fp32 = load_model(args, 1);
    const xinfer::Model int8 = xinfer::Model::load(args.need("--quantized"));
    const auto paths = image_paths(args, "--images");
    const auto rep = xinfer::compare_models(fp32, int8, image_inputs(fp32, paths, args));
    const long fp32_bytes = file_bytes(args.need("--model")), int8_bytes = file_bytes(args.need("--quantized"));
    if (args.has("--json"))
        print_json(rep, fp32_bytes, int8_bytes);
    else
        print_table(rep, fp32_bytes, int8_bytes);
    return 0;
}

}  // namespace

Command validate_command() {
    return {"validate",
            "compare an int8 model with its fp32 source on images, layer by layer and on the final probabilities",
            "--model FP32 --quantized INT8 --images DIR|IMAGE [...] [--offset I] [--limit N] [--json]\n"
            "[preprocessing]",
            "",
            with_preprocessing([] {
                std::vector<Option> o = {
                    model_option("FP32"),
                    {"--quantized", "INT8", "the int8 model (from xinfer quantize)"},
                    {"--images", "DIR|IMAGE", "images to compare on: an image file, or a directory of them", true},
                };
                const auto range = image_range_options();
                o.insert(o.end(), range.begin(), range.end());
                o.push_back({"--json", "", "print one JSON object (images, top1_agreement, mean_abs_dp, layers, ...)"});
                return o;
            }()),
            validate_main,
            std::string("The preprocessing flags are for models that do not store theirs.\n") + kModelNote};
}

}  // namespace xinfer::cli
