#pragma once
// The container of .xinf weight files: a standard safetensors file whose tensor data is XINFER_ALIGNMENT-aligned.
//
// Layout: u64 little-endian N, N bytes of JSON header, then the data region. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (relative to the data region) plus an optional "__metadata__"
// object of strings. Standard readers require the tensors to tile the data region without holes, so the writer
// fills the gaps with U8 tensors named "__pad__.<i>" and pads the header with spaces until 8 + N is a multiple of
// XINFER_ALIGNMENT. A final pad of at least XINFER_EXTRA_BYTES makes the file end on an aligned boundary and lets
// kernels over-read the last tensor even when it is used in place from a mapping. The reader hides the pads.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xinfer/config.hpp"
#include "xinfer/core/dtype.hpp"
#include "xinfer/core/error.hpp"
#include "xinfer/core/shape.hpp"

namespace xinfer::io {

// One tensor of a parsed file; `data` points into the parsed bytes. Files not written by SafetensorsWriter may
// leave `data` unaligned.
struct TensorRecord {
    std::string name;
    DataType dtype = DataType::f32;
    Shape shape;
    const std::byte* data = nullptr;
    size_t bytes = 0;
};

namespace detail {
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr int kMaxHeaderDepth = 8;  // a valid header needs 3 (root, entry, shape)
constexpr const char* kPadPrefix = "__pad__.";

inline bool is_pad(const std::string& name) { return name.compare(0, 8, kPadPrefix) == 0; }

template <class... Parts>
[[noreturn]] void model_error(const std::string& source, const Parts&... parts) {
    XINFER_THROW(ErrorCode::invalid_model, source, ": ", parts...);
}

inline void check_utf8(const std::string& text, const char* what) {
    XINFER_TRY {
        (void)nlohmann::json(text).dump();
    } XINFER_CATCH(const nlohmann::json::exception&, unused) {
        XINFER_THROW(ErrorCode::invalid_argument, what, " is not valid UTF-8");
    }
}
}  // namespace detail

// Builds a file in memory. add() copies the tensor bytes, so the caller's buffers may be released right away.
class SafetensorsWriter {
public:
    void add(std::string name, DataType dtype, Shape shape, const void* data, size_t bytes) {
        XINFER_CHECK(name.compare(0, 2, "__") != 0, ErrorCode::invalid_argument, "tensor name '", name,
                     "' is reserved (names starting with \"__\" are)");
        XINFER_CHECK(names_.count(name) == 0, ErrorCode::invalid_argument, "duplicate tensor name '", name, "'");
        XINFER_CHECK(data || bytes == 0, ErrorCode::invalid_argument, "tensor '", name, "' has null data");
        detail::check_utf8(name, "tensor name");
        size_t numel = 0;
        XINFER_TRY {
            numel = checked_numel(shape);
        } XINFER_CATCH(const Error&, e) {
            XINFER_THROW(ErrorCode::invalid_argument, "tensor '", name, "': ", e.what());
        }
        const size_t elem = size_of(dtype);
        XINFER_CHECK(numel <= std::numeric_limits<size_t>::max() / elem && numel * elem == bytes,
                     ErrorCode::invalid_argument, "tensor '", name, "' has ", bytes, " bytes, but shape ",
                     ::xinfer::to_string(shape), " of ", ::xinfer::to_string(dtype), " needs ", numel, " x ", elem,
                     " (dtype/shape mismatch)");
        const auto* p = static_cast<const std::byte*>(data);
        names_.insert(name);
        entries_.push_back({std::move(name), dtype, std::move(shape), std::vector<std::byte>(p, p + bytes)});
    }

    // Replaces any earlier value of `key`.
    void set_metadata(std::string key, std::string value) {
        detail::check_utf8(key, "metadata key");
        detail::check_utf8(value, "metadata value");
        metadata_[std::move(key)] = std::move(value);
    }

    // The whole file. Tensors appear in insertion order.
    std::vector<std::byte> to_bytes() const {
        using json = nlohmann::ordered_json;
        const size_t align = XINFER_ALIGNMENT;
        json header = json::object();
        if (!metadata_.empty()) header["__metadata__"] = metadata_;
        size_t offset = 0;
        int pads = 0;
        auto entry = [&](const std::string& name, DataType dtype, const Shape& shape, size_t bytes) {
            header[name] = {{"dtype", ::xinfer::to_string(dtype)},
                            {"shape", shape},
                            {"data_offsets", json::array({offset, offset + bytes})}};
            offset += bytes;
        };
        auto pad = [&](size_t bytes) {
            entry(detail::kPadPrefix + std::to_string(pads++), DataType::u8, Shape{int64_t(bytes)}, bytes);
        };
        std::vector<size_t> begins;
        for (const Entry& e : entries_) {
            if (offset % align) pad(align - offset % align);
            begins.push_back(offset);
            entry(e.name, e.dtype, e.shape, e.data.size());
        }
        if (!entries_.empty()) pad((align - offset % align) % align + XINFER_EXTRA_BYTES);

        std::string text = header.dump();
        text.resize((8 + text.size() + align - 1) / align * align - 8, ' ');
        std::vector<std::byte> out(8 + text.size() + offset);
        for (int i = 0; i < 8; ++i) out[size_t(i)] = std::byte((uint64_t(text.size()) >> (8 * i)) & 0xFF);
        std::memcpy(out.data() + 8, text.data(), text.size());
        std::byte* base = out.data() + 8 + text.size();
        for (size_t i = 0; i < entries_.size(); ++i) {
            const std::vector<std::byte>& bytes = entries_[i].data;
            if (!bytes.empty()) std::memcpy(base + begins[i], bytes.data(), bytes.size());
        }
        return out;
    }

private:
    struct Entry {
        std::string name;
        DataType dtype;
        Shape shape;
        std::vector<std::byte> data;
    };
    std::vector<Entry> entries_;
    std::set<std::string> names_;
    std::map<std::string, std::string> metadata_;
};

struct SafetensorsView {
    std::string source;
    std::map<std::string, std::string> metadata;
    std::vector<TensorRecord> tensors;  // in data order, pads excluded

    const TensorRecord* find(const std::string& name) const {
        for (const TensorRecord& t : tensors)
            if (t.name == name) return &t;
        return nullptr;
    }
    const TensorRecord& at(const std::string& name) const {
        if (const TensorRecord* t = find(name)) return *t;
        detail::model_error(source, "no tensor named '", name, "'");
    }
};

namespace detail {
using json = nlohmann::json;

inline json parse_header(const char* text, size_t size, const std::string& source) {
    std::vector<std::set<std::string>> keys;  // keys seen so far in each open object, by depth
    auto check = [&](int depth, json::parse_event_t event, json& value) {
        if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
            if (depth >= kMaxHeaderDepth)
                model_error(source, "header JSON is nested more than ", kMaxHeaderDepth, " levels deep");
            if (event == json::parse_event_t::object_start) {
                keys.resize(size_t(depth) + 1);
                keys[size_t(depth)].clear();
            }
        } else if (event == json::parse_event_t::key) {
            const auto& key = value.get_ref<const std::string&>();
            if (!keys[size_t(depth) - 1].insert(key).second)
                model_error(source, "duplicate key '", key, "' in header");
        }
        return true;
    };
    XINFER_TRY {
        return json::parse(text, text + size, check);
    } XINFER_CATCH(const json::exception&, e) {
        model_error(source, "header is not valid JSON: ", e.what());
    }
}

// Reads a JSON integer into `out`; false if it is not an integer in [min, max].
inline bool get_int(const json& v, int64_t min, uint64_t max, uint64_t& out, bool& negative) {
    if (!v.is_number_integer()) return false;
    negative = !v.is_number_unsigned() && v.get<int64_t>() < 0;
    if (negative) return min < 0;
    out = v.get<uint64_t>();
    return out <= max;
}

struct Span {
    std::string name;
    DataType dtype;
    Shape shape;
    uint64_t begin, end;
};

inline Span parse_entry(const std::string& name, const json& entry, uint64_t data_size, const std::string& source) {
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) model_error(source, where, ": entry is not an object");
    for (auto it = entry.begin(); it != entry.end(); ++it)
        if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets")
            model_error(source, where, ": unknown field '", it.key(), "'");

    Span span{name, DataType::f32, {}, 0, 0};
    const auto dtype = entry.find("dtype");
    if (dtype == entry.end() || !dtype->is_string())
        model_error(source, where, ": missing or non-string \"dtype\"");
    XINFER_TRY {
        span.dtype = dtype_from_string(dtype->get_ref<const std::string&>());
    } XINFER_CATCH(const Error&, e) {
        model_error(source, where, ": ", e.what());
    }

    const auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array())
        model_error(source, where, ": missing \"shape\" or it is not an array");
    for (const json& dim : *shape) {
        uint64_t value = 0;
        bool negative = false;
        if (!get_int(dim, std::numeric_limits<int64_t>::min(), uint64_t(std::numeric_limits<int64_t>::max()), value,
                     negative))
            model_error(source, where, ": shape ", shape->dump(), " must hold integers below 2^63");
        span.shape.push_back(negative ? dim.get<int64_t>() : int64_t(value));
    }
    size_t numel = 0;
    XINFER_TRY {
        numel = checked_numel(span.shape);
    } XINFER_CATCH(const Error&, e) {
        model_error(source, where, ": ", e.what());
    }
    const size_t elem = size_of(span.dtype);
    if (numel > std::numeric_limits<size_t>::max() / elem)
        model_error(source, where, ": byte size of shape ", ::xinfer::to_string(span.shape), " overflows");

    const auto offsets = entry.find("data_offsets");
    bool valid = offsets != entry.end() && offsets->is_array() && offsets->size() == 2;
    bool negative = false;
    valid = valid && get_int((*offsets)[0], 0, UINT64_MAX, span.begin, negative) &&
            get_int((*offsets)[1], 0, UINT64_MAX, span.end, negative);
    if (!valid) model_error(source, where, ": \"data_offsets\" must be two non-negative integers");
    if (span.begin > span.end)
        model_error(source, where, ": data_offsets [", span.begin, ", ", span.end, "] end before they begin");
    if (span.end > data_size)
        model_error(source, where, ": data_offsets end ", span.end, " is past the end of the data region (",
                    data_size, " bytes; file truncated?)");
    if (span.end - span.begin != numel * elem)
        model_error(source, where, ": dtype/shape mismatch: data_offsets span ", span.end - span.begin,
                          " bytes but ", ::xinfer::to_string(span.dtype), " ", ::xinfer::to_string(span.shape), " needs ", numel * elem);
    return span;
}
}  // namespace detail

// Validates a whole file held in `data` and returns a view whose tensor pointers point into it. Every defect
// throws Error(invalid_model) naming `source`. The tensors must tile the data region exactly, as standard readers
// require: overlaps, holes and trailing bytes are rejected.
inline SafetensorsView parse_safetensors(const std::byte* data, size_t size, const std::string& source) {
    using detail::model_error;
    if (size < 8) model_error(source, "truncated: ", size, " bytes, too short for the 8-byte header length");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | std::to_integer<uint64_t>(data[i]);
    if (n > detail::kMaxHeaderBytes)
        model_error(source, "header length ", n, " exceeds the limit of ", detail::kMaxHeaderBytes, " bytes");
    if (n > size - 8)
        model_error(source, "truncated: header length is ", n, " bytes but only ", size - 8, " follow");

    const detail::json header = detail::parse_header(reinterpret_cast<const char*>(data + 8), size_t(n), source);
    if (!header.is_object()) model_error(source, "header is not a JSON object");

    SafetensorsView view;
    view.source = source;
    const uint64_t data_size = size - 8 - n;
    std::vector<detail::Span> spans;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() != "__metadata__") {
            spans.push_back(detail::parse_entry(it.key(), it.value(), data_size, source));
            continue;
        }
        if (!it->is_object()) model_error(source, "header __metadata__ is not an object");
        for (auto m = it->begin(); m != it->end(); ++m) {
            if (!m->is_string())
                model_error(source, "header __metadata__ value of '", m.key(), "' is not a string");
            view.metadata[m.key()] = m->get<std::string>();
        }
    }

    std::stable_sort(spans.begin(), spans.end(), [](const detail::Span& a, const detail::Span& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t covered = 0;
    const detail::Span* last = nullptr;  // the non-empty tensor that ends at `covered`
    for (const detail::Span& s : spans) {
        if (s.begin < covered)
            model_error(source, "tensor '", s.name, "' (data_offsets [", s.begin, ", ", s.end,
                        "]) overlaps tensor '", last->name, "' (data_offsets [", last->begin, ", ", last->end,
                        "])");
        if (s.begin > covered)
            model_error(source, "hole in the data region: bytes [", covered, ", ", s.begin,
                        ") before tensor '", s.name, "' belong to no tensor");
        if (s.end > s.begin) last = &s;
        covered = s.end;
    }
    if (covered != data_size)
        model_error(source, "trailing bytes: the data region has ", data_size,
                    " bytes but its tensors end at offset ", covered);

    const std::byte* base = data + 8 + n;
    for (detail::Span& s : spans)
        if (!detail::is_pad(s.name))
            view.tensors.push_back({std::move(s.name), s.dtype, std::move(s.shape), base + s.begin,
                                    size_t(s.end - s.begin)});
    return view;
}

}  // namespace xinfer::io
