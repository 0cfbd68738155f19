#pragma once
// Any supported model file or buffer into the graph IR and its metadata, the format read from the bytes (never
// from the name): .xinf (safetensors), ONNX (protobuf) or a TF.js layers model.json.
#include <cctype>
#include <memory>
#include <string>

#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/onnx/importer.hpp"
#include "xinfer/io/tfjs.hpp"
#include "xinfer/io/xinf.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace xinfer::io {

// Gives freed heap pages back to the system, which glibc otherwise keeps: loading allocates and frees copies of
// the weights, and a process that then only runs the model should not hold on to them.
inline void return_free_memory() {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}

inline bool is_safetensors(const std::byte* data, size_t size) {
    if (size < 9) return false;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint64_t(data[i]);
    return n >= 2 && n <= size - 8 && data[8] == std::byte{'{'};
}

// ONNX files start with ModelProto field 1 (ir_version, a varint): byte 0x08.
inline bool is_onnx(const std::byte* data, size_t size) { return size >= 2 && data[0] == std::byte{0x08}; }

// A TF.js layers model.json: a JSON object (after optional whitespace) that names a modelTopology.
inline bool is_tfjs(const std::byte* data, size_t size) {
    size_t i = 0;
    while (i < size && std::isspace(int(data[i]))) ++i;
    if (i >= size || data[i] != std::byte{'{'}) return false;
    const std::string head(reinterpret_cast<const char*>(data) + i, std::min<size_t>(size - i, 1 << 16));
    return head.find("\"modelTopology\"") != std::string::npos || head.find("\"weightsManifest\"") != std::string::npos;
}

// mapping: the file behind data, if it is one (the ONNX importer drops its pages once copied). An ONNX import lets
// go of owner on return; a .xinf model keeps it (its weights stay where they are).
inline XinfModel import_model_bytes(std::shared_ptr<const void> owner, const std::byte* data, size_t size,
                                    const std::string& source, const std::string& dir,
                                    const MappedFile* mapping = nullptr) {
    if (is_safetensors(data, size)) return read_xinf(std::move(owner), data, size, source);
    if (is_onnx(data, size)) return onnx::import_onnx(data, size, source, dir, {}, mapping);
    XINFER_CHECK(!is_tfjs(data, size), ErrorCode::invalid_argument, source,
                 ": a TF.js model.json needs its weight files: load it from its path");
    XINFER_THROW(ErrorCode::invalid_model, source, ": unrecognised model format (", size,
                 " bytes; xinfer reads .xinf (safetensors), .onnx and TF.js model.json files)");
}

// Reads a model file into the graph IR and its metadata, without building it. A .xinf file stays mapped and its
// weights are used in place.
inline XinfModel import_model_file(const std::string& path) {
    auto file = std::make_shared<MappedFile>(path);
    const std::byte* data = file->data();
    const size_t size = file->size();
    if (is_tfjs(data, size)) return import_tfjs(path);
    const size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    const MappedFile* mapping = file.get();
    XinfModel m = import_model_bytes(std::move(file), data, size, path, dir, mapping);
    return_free_memory();  // the importer's temporaries
    return m;
}

}  // namespace xinfer::io
