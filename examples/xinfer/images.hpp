#pragma once
// Images on the command line: the preprocessing flags (--scale, --mean, --std, --size, --resize, --labels), lists
// of image files and directories, and images turned into model inputs.
#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "xinfer/io/image_file.hpp"
#include "common.hpp"

namespace xinfer::cli {

// The preprocessing flags, for the subcommands that take them.
inline std::vector<Option> preprocessing_options() {
    const std::string section = "preprocessing";
    return {
        {"--scale", "S", "multiply pixel values by S (a number or a fraction, e.g. 1/255)", false, section},
        {"--mean", "m1,m2,m3", "per-channel mean subtracted after scaling", false, section},
        {"--std", "s1,s2,s3", "per-channel standard deviation divided by after the mean", false, section},
        {"--size", "WxH", "the model's input width and height", false, section},
        {"--resize", "stretch|crop", "how an image of another aspect ratio is fitted", false, section},
        {"--labels", "FILE|a,b,...", "class labels: a file with one per line, or a comma-separated list", false,
         section},
    };
}

// Options followed by the preprocessing flags.
inline std::vector<Option> with_preprocessing(std::vector<Option> options) {
    const auto pre = preprocessing_options();
    options.insert(options.end(), pre.begin(), pre.end());
    return options;
}

// A number, or a fraction "a/b".
inline float parse_number(const std::string& flag, const std::string& text) {
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
    throw UsageError(flag + ": '" + text + "' is not a number");
}

inline std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, sep);) parts.push_back(part);
    return parts;
}

inline std::array<float, 3> parse_triple(const std::string& flag, const std::string& text) {
    const auto parts = split(text, ',');
    if (parts.size() != 3) throw UsageError(flag + " needs three comma-separated values, got '" + text + "'");
    return {parse_number(flag, parts[0]), parse_number(flag, parts[1]), parse_number(flag, parts[2])};
}

// --labels FILE (one label per line) or a comma-separated list.
inline std::vector<std::string> parse_labels(const std::string& text) {
    std::ifstream file(text);
    std::vector<std::string> labels;
    if (file) {
        for (std::string line; std::getline(file, line);)
            if (!line.empty()) labels.push_back(line);
        return labels;
    }
    labels = split(text, ',');
    if (labels.empty()) throw UsageError("--labels: no labels in '" + text + "'");
    return labels;
}

inline bool has_preprocessing_flags(const Args& args) {
    for (const char* f : {"--scale", "--mean", "--std", "--size", "--resize"})
        if (!args.get(f).empty()) return true;
    return false;
}

// The model's preprocessing with the flags applied on top; an error names the flags still missing.
inline xinfer::io::Preprocessing preprocessing_from_flags(const Args& args,
                                                          const std::optional<xinfer::io::Preprocessing>& base) {
    xinfer::io::Preprocessing p = base.value_or(xinfer::io::Preprocessing{});
    if (!args.get("--scale").empty()) p.scale = parse_number("--scale", args.get("--scale"));
    if (!args.get("--mean").empty()) p.mean = parse_triple("--mean", args.get("--mean"));
    if (!args.get("--std").empty()) p.std = parse_triple("--std", args.get("--std"));
    if (!args.get("--resize").empty()) p.resize = xinfer::io::resize_policy_from_string(args.get("--resize"));
    if (!args.get("--size").empty()) {
        const auto wh = split(args.get("--size"), 'x');
        if (wh.size() != 2) throw UsageError("--size needs WxH, got '" + args.get("--size") + "'");
        p.width = int(parse_number("--size", wh[0]));
        p.height = int(parse_number("--size", wh[1]));
    }
    if (!base && (args.get("--scale").empty() || args.get("--size").empty()))
        throw UsageError("the model does not store its preprocessing: pass at least --scale and --size (and --mean, "
                         "--std, --resize where they differ from 0, 1 and stretch)");
    p.validate();
    return p;
}

// The preprocessing to apply to images for `model`: none (the model's own) unless flags override it or the model
// stores none.
inline std::optional<xinfer::io::Preprocessing> image_preprocessing(const xinfer::Model& model, const Args& args) {
    const auto& stored = model.metadata().preprocessing;
    if (has_preprocessing_flags(args) || !stored) return preprocessing_from_flags(args, stored);
    return std::nullopt;
}

inline bool is_image_file(const std::filesystem::directory_entry& e) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp");
}

// The --offset and --limit options of image_paths().
inline std::vector<Option> image_range_options() {
    return {{"--offset", "I", "skip the first I images"}, {"--limit", "N", "use at most N images"}};
}

// Image files named by --flag (directories: their image files, sorted), then --offset / --limit applied.
inline std::vector<std::string> image_paths(const Args& args, const std::string& flag) {
    std::vector<std::string> paths;
    for (const auto& p : args.all(flag)) {
        if (!std::filesystem::is_directory(p)) {
            paths.push_back(p);
            continue;
        }
        std::vector<std::string> found;
        for (const auto& e : std::filesystem::directory_iterator(p))
            if (is_image_file(e)) found.push_back(e.path().string());
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
inline std::vector<xt::xarray<float>> image_inputs(const xinfer::Model& model, const std::vector<std::string>& paths,
                                                   const Args& args) {
    const auto pre = image_preprocessing(model, args);
    std::vector<xt::xarray<float>> inputs;
    for (const auto& path : paths) {
        const auto img = xinfer::io::load_rgb(path);
        inputs.push_back(model.image_input(img.pixels.get(), img.width, img.height, 0, pre ? &*pre : nullptr));
    }
    return inputs;
}

}  // namespace xinfer::cli
