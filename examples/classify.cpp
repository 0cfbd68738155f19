// The minimal host application: load a model, decode an image, print the top-5 classes.
//   classify MODEL IMAGE...
#include <cstdio>
#define XINFER_STB_IMPLEMENTATION
#include "xinfer/io/image_file.hpp"
#include "xinfer/xinfer.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
        return 2;
    }
    try {
        const xinfer::Model model = xinfer::Model::load(argv[1]);
        for (int i = 2; i < argc; ++i) {
            const auto img = xinfer::io::load_rgb(argv[i]);
            std::printf("%s\n", argv[i]);
            for (const auto& p : model.classify(img.pixels.get(), img.width, img.height, 5))
                std::printf("  %-24s %.4f\n", p.label.c_str(), p.probability);
        }
    } catch (const xinfer::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
