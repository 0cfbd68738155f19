#pragma once
// libFuzzer targets for the model parsers. A parser may accept an input or reject it with xinfer::Error; anything
// else (a crash, a sanitizer report, another exception, a hang) is a bug. Accepted models are also built, so the
// checks between parsing and running (shapes, weights, op attributes) are fuzzed too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "xinfer/serve/binding.hpp"
#include "xinfer/xinfer.hpp"

namespace xinfer::fuzz {

inline void build(io::XinfModel m) {
    ModelOptions o;
    o.optimize = true;
    (void)Model::from_graph(std::move(m.graph), std::move(m.metadata), o);
}

inline void onnx(const uint8_t* data, size_t size) {
    try {
        build(io::onnx::import_onnx(reinterpret_cast<const std::byte*>(data), size, "fuzz.onnx", ""));
    } catch (const Error&) {
    }
}

inline void xinf(const uint8_t* data, size_t size) {
    try {
        auto copy = std::make_shared<AlignedBuffer>(size);
        if (size) std::memcpy(copy->data(), data, size);
        const std::byte* bytes = copy->data();
        build(io::read_xinf(copy, bytes, size, "fuzz.xinf"));
    } catch (const Error&) {
    }
}

// Input: model.json text, a NUL byte, then the concatenated weight shards.
inline void tfjs(const uint8_t* data, size_t size) {
    const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
    const size_t json_len = nul ? size_t(nul - data) : size;
    const std::string json(reinterpret_cast<const char*>(data), json_len);
    std::vector<std::byte> weights;
    if (nul) weights.assign(reinterpret_cast<const std::byte*>(nul + 1), reinterpret_cast<const std::byte*>(data + size));
    try {
        build(io::import_tfjs(json, weights, "fuzz/model.json"));
    } catch (const Error&) {
    }
}

// A server inference request: JSON, or 4 bytes of little-endian JSON length, the JSON, then the binary tensors.
// Parsed and bound to a small built-in MobileNetV2 (BYTES images go through stb_image). Rejections must be
// serve::HttpError with a 4xx status, or xinfer::Error; a 5xx escapes as std::logic_error.
inline void infer_request(const uint8_t* data, size_t size) {
    static const Model model = Model::load("builtin:mobilenet_v2?alpha=0.35&size=32&classes=7&seed=5");
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
        auto request = serve::parse_infer_request(reinterpret_cast<const char*>(json), json_size, binary,
                                                  size_t(data + size - binary));
        serve::bind_inputs(model, request);
    } catch (const serve::HttpError& e) {
        if (e.status < 400 || e.status >= 500)
            throw std::logic_error("request rejected with status " + std::to_string(e.status));
    } catch (const Error&) {
    }
}

}  // namespace xinfer::fuzz
