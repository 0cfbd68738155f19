// libFuzzer target for the server's request reader (serve/protocol.hpp) and its binding to a model
// (serve/binding.hpp: shapes, datatypes, UINT8 pixels, BYTES images through stb_image). Input: a JSON request, or
// 4 bytes of little-endian JSON length, the JSON, then the binary tensors. Rejections are serve::HttpError (a 4xx)
// or xinfer::Error; anything else is a bug.
#define XINFER_STB_IMPLEMENTATION
#include <cstring>

#include "xinfer/serve/binding.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const xinfer::Model model = xinfer::Model::load("builtin:mobilenet_v2?alpha=0.35&size=32&classes=7&seed=5");
    size_t json_size = size;
    const uint8_t* json = data;
    if (size >= 4 && data[0] != '{') {
        uint32_t n;
        std::memcpy(&n, data, 4);
        json = data + 4;
        json_size = std::min<size_t>(n, size - 4);
    }
    const uint8_t* binary = json + json_size;
    try {
        auto request = xinfer::serve::parse_infer_request(reinterpret_cast<const char*>(json), json_size, binary,
                                                          size_t(data + size - binary));
        xinfer::serve::bind_inputs(model, request);
    } catch (const xinfer::serve::HttpError& e) {
        if (e.status < 400 || e.status >= 500) __builtin_trap();
    } catch (const xinfer::Error&) {
    }
    return 0;
}
