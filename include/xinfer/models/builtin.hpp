#pragma once
// Built-in architectures by name, with seeded random weights (batch-norm statistics re-estimated): for benchmarks
// and tests. Spec: "mobilenet_v2?alpha=1.0&size=224&classes=1000&seed=42&softmax=0".
#include <sstream>
#include <string>

#include "xinfer/io/xinf.hpp"
#include "xinfer/models/mobilenet_v2.hpp"

namespace xinfer::models {

inline io::XinfModel builtin_model(const std::string& spec) {
    const size_t q = spec.find('?');
    const std::string arch = spec.substr(0, q);
    XINFER_CHECK(arch == "mobilenet_v2", ErrorCode::invalid_argument, "unknown built-in model '", arch,
                 "' (available: mobilenet_v2)");
    MobileNetV2Options o;
    uint32_t seed = 42;
    std::stringstream params(q == std::string::npos ? "" : spec.substr(q + 1));
    for (std::string kv; std::getline(params, kv, '&');) {
        const size_t eq = kv.find('=');
        const std::string key = kv.substr(0, eq), value = eq == std::string::npos ? "" : kv.substr(eq + 1);
        XINFER_TRY {
            size_t used = 0;
            if (key == "alpha") o.alpha = std::stod(value, &used);
            else if (key == "size") o.size = std::stoi(value, &used);
            else if (key == "classes") o.classes = std::stoi(value, &used);
            else if (key == "seed") seed = uint32_t(std::stoul(value, &used));
            else if (key == "softmax") o.softmax = value != "0", used = value.size();
            else XINFER_THROW(ErrorCode::invalid_argument, "unknown parameter '", key, "' of builtin:", arch);
            XINFER_CHECK(used == value.size(), ErrorCode::invalid_argument, "bad value '", value, "' for ", key);
        } XINFER_CATCH(const std::logic_error&, unused) {
            XINFER_THROW(ErrorCode::invalid_argument, "bad value '", value, "' for ", key, " in builtin:", spec);
        }
    }
    io::XinfModel m;
    io::Preprocessing p;  // ImageNet statistics, as torchvision and Keras' "torch" mode use
    p.scale = 1.0f / 255.0f;
    p.mean = {0.485f, 0.456f, 0.406f};
    p.std = {0.229f, 0.224f, 0.225f};
    p.width = p.height = o.size;
    p.resize = io::ResizePolicy::crop;
    m.metadata.preprocessing = p;
    m.graph = mobilenet_v2_random(o, seed);
    return m;
}

}  // namespace xinfer::models
