// libFuzzer target for the server's request reader (serve/protocol.hpp) and its binding to a model
// (serve/binding.hpp: shapes, datatypes, UINT8 pixels, BYTES images through stb_image); see fuzz_targets.hpp.
#define XINFER_STB_IMPLEMENTATION
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    xinfer::fuzz::infer_request(data, size);
    return 0;
}
