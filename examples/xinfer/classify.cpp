// xinfer classify: each image's top classes, or with --tsv every class probability.
#include <cstdio>

#include "images.hpp"

namespace xinfer::cli {
namespace {

// A header row (path, then one label per class), then per image its path and one probability per class.
struct TsvWriter {
    bool header_done = false;

    template <class Label>
    void row(const std::string& path, const std::vector<float>& probs, const Label& label) {
        if (!header_done) {
            std::printf("path");
            for (size_t i = 0; i < probs.size(); ++i) std::printf("\t%s", label(i).c_str());
            std::printf("\n");
            header_done = true;
        }
        std::printf("%s", path.c_str());
        for (float p : probs) std::printf("\t%.9g", p);
        std::printf("\n");
    }
};

int classify_main(const Args& args) {
    XINFER_CHECK(!args.positional.empty(), ErrorCode::invalid_argument, "classify: no image given");
    const int top = args.get_int("--top", 5, 1, 1000000);
    const xinfer::Model model = load_model(args, args.get_int("--threads", 1, 1, 256));
    const auto pre = image_preprocessing(model, args);
    const std::vector<std::string> labels =
        args.get("--labels").empty() ? model.metadata().labels : parse_labels(args.get("--labels"));
    auto label = [&](size_t i) { return i < labels.size() ? labels[i] : "class " + std::to_string(i); };
    TsvWriter tsv;
    for (const auto& path : args.positional) {
        const auto img = xinfer::io::load_rgb(path);
        const auto t0 = Clock::now();
        const auto probs = model.class_probabilities(img.pixels.get(), img.width, img.height, 0, pre ? &*pre : nullptr);
        const double ms = ms_since(t0);
        if (args.has("--tsv")) {
            tsv.row(path, probs, label);
            continue;
        }
        std::printf("%s (%dx%d, %.2f ms)\n", path.c_str(), img.width, img.height, ms);
        for (const auto& p : model.top_classes(probs, top))
            std::printf("  %-24s %.5f\n", label(size_t(p.index)).c_str(), p.probability);
    }
    return 0;
}

}  // namespace

Command classify_command() {
    return {"classify",
            "print the top classes of each image (or, with --tsv, every class probability)",
            "--model M [--top K] [--tsv] [--threads N] [preprocessing] IMAGE...",
            "IMAGE...",
            with_preprocessing({
                model_option(),
                {"--top", "K", "classes printed per image (default 5)"},
                {"--tsv", "", "print a header, then per image its path and one probability per class"},
                threads_option(),
            }),
            classify_main,
            std::string("The preprocessing flags override what the model stores; a model that stores none needs at "
                        "least --scale and --size.\n") +
                kModelNote};
}

}  // namespace xinfer::cli
