// What ort_export_check.sh needs beyond the CLI:
//   ort_export_tool onnx MODEL.xinf OUT.onnx [exact-add]   the ONNX export, with ExportOptions::exact_int8_add
//   ort_export_tool image MODEL WxH DIR PHOTO...            DIR/<k>.npy: photo k as MODEL's input, preprocessed as
//                                                           `--scale 1/255 --size WxH --resize stretch` say
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <xtensor/xnpy.hpp>

#include "golden.hpp"
#include "xinfer/xinfer.hpp"

namespace {

int write_onnx(const std::string& model_path, const std::string& out, bool exact_add) {
    const xinfer::Model model = xinfer::Model::load(model_path);
    xinfer::io::onnx::ExportOptions options;
    options.exact_int8_add = exact_add;
    const std::string bytes = xinfer::io::onnx::export_onnx(model.graph(), model.metadata(), options);
    std::ofstream(out, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return 0;
}

int write_images(const std::string& model_path, const std::string& size, const std::string& dir,
                 const std::vector<std::string>& photos) {
    const xinfer::Model model = xinfer::Model::load(model_path);
    xinfer::io::Preprocessing p;
    p.scale = float(1.0 / 255);  // as the CLI parses --scale 1/255
    if (std::sscanf(size.c_str(), "%dx%d", &p.width, &p.height) != 2) return 2;
    for (size_t k = 0; k < photos.size(); ++k) {
        int w = 0, h = 0, c = 0;
        unsigned char* px = stbi_load(photos[k].c_str(), &w, &h, &c, 3);
        if (!px) {
            std::fprintf(stderr, "%s: cannot decode\n", photos[k].c_str());
            return 1;
        }
        const xt::xarray<float> x = model.image_input(px, w, h, 0, &p);
        stbi_image_free(px);
        xt::dump_npy(dir + "/" + std::to_string(k) + ".npy", x);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    try {
        if (mode == "onnx" && (argc == 4 || argc == 5))
            return write_onnx(argv[2], argv[3], argc == 5 && std::string(argv[4]) == "exact-add");
        if (mode == "image" && argc >= 6)
            return write_images(argv[2], argv[3], argv[4], std::vector<std::string>(argv + 5, argv + argc));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    std::fprintf(stderr,
                 "usage: ort_export_tool onnx MODEL.xinf OUT.onnx [exact-add] | image MODEL WxH DIR PHOTO...\n");
    return 2;
}
