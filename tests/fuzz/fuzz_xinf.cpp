#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    xinfer::fuzz::xinf(data, size);
    return 0;
}
