#pragma once
// The models a server holds, by name: where each comes from, the loaded model with its batcher, its state
// (Triton's repository extension: READY, UNAVAILABLE, LOADING) and its statistics, which outlive reloads.
// A reload builds and warms the new model beside the old one, then swaps a pointer: requests that already hold
// the old model finish on it, and its batcher drains before it is destroyed.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xinfer/model.hpp"
#include "xinfer/serve/batcher.hpp"
#include "xinfer/serve/metrics.hpp"

namespace xinfer::serve {

struct ModelSource {
    std::string name;
    std::string path;  // a .xinf or .onnx file, a TF.js model.json (or its folder), or builtin:...
};

inline std::string platform_of(const std::string& path) {
    const std::filesystem::path p(path);
    if (path.rfind("builtin:", 0) == 0) return "xinfer_builtin";
    if (p.extension() == ".onnx") return "onnx_onnxv1";
    if (p.extension() == ".json" || std::filesystem::is_directory(p)) return "tensorflowjs_layers";
    return "xinfer_xinf";
}

// Model names go into URLs and metric labels: letters, digits, '_', '-', '.'.
inline void check_model_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 128 && name != "." && name != "..";
    for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
    XINFER_CHECK(ok, ErrorCode::invalid_argument, "model name '", name,
                 "' must be 1-128 letters, digits, '_', '-' or '.'");
}

// The model files in a folder: *.xinf, *.onnx and subfolders holding a model.json; a folder that itself holds a
// model.json is one model named after the folder.
inline std::vector<ModelSource> models_in(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<ModelSource> out;
    if (fs::exists(fs::path(dir) / "model.json")) {
        out.push_back({fs::path(dir).filename().string(), (fs::path(dir) / "model.json").string()});
        return out;
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const auto& p = e.path();
        if (e.is_regular_file() && (p.extension() == ".xinf" || p.extension() == ".onnx"))
            out.push_back({p.stem().string(), p.string()});
        else if (e.is_directory() && fs::exists(p / "model.json"))
            out.push_back({p.filename().string(), (p / "model.json").string()});
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
}

// "NAME=PATH" or "PATH" (name: the file's stem, or a TF.js folder's name).
inline std::vector<ModelSource> parse_model_argument(const std::string& arg) {
    namespace fs = std::filesystem;
    const auto eq = arg.find('=');
    const bool named = eq != std::string::npos && arg.rfind("builtin:", 0) != 0;
    const std::string path = named ? arg.substr(eq + 1) : arg;
    if (!named && fs::is_directory(path)) return models_in(path);
    std::string name = named ? arg.substr(0, eq) : fs::path(path).stem().string();
    if (!named && fs::path(path).filename() == "model.json") name = fs::path(path).parent_path().filename().string();
    if (!named && path.rfind("builtin:", 0) == 0) name = "builtin";
    return {{name, path}};
}

struct LoadedModel {
    LoadedModel(Model m, std::string platform_) : model(std::move(m)), platform(std::move(platform_)) {}
    Model model;
    std::string platform;
    bool batchable = false;
    std::unique_ptr<Batcher> batcher;  // destroyed first: drains the queue while the model is alive
    ~LoadedModel() { batcher.reset(); }
};

// The protocol's model metadata: inputs and outputs with -1 for free dimensions.
inline nlohmann::json metadata_json(const std::string& name, const LoadedModel& m) {
    auto tensors = [](const std::vector<TensorSpec>& specs) {
        nlohmann::json out = nlohmann::json::array();
        for (auto& s : specs) {
            const char* type = s.dtype == DataType::f32 ? "FP32" : s.dtype == DataType::u8 ? "UINT8"
                               : s.dtype == DataType::s8 ? "INT8" : s.dtype == DataType::s32 ? "INT32" : "INT64";
            out.push_back({{"name", s.name}, {"datatype", type}, {"shape", s.shape}});
        }
        return out;
    };
    return {{"name", name},
            {"versions", {"1"}},
            {"platform", m.platform},
            {"inputs", tensors(m.model.inputs())},
            {"outputs", tensors(m.model.outputs())}};
}

struct ServingOptions {
    int threads = 1;  // compute threads for all of a model's instances together
    BatchOptions batching;
};

class Repository {
public:
    enum class State { ready, unavailable, loading };
    static const char* to_string(State s) {
        return s == State::ready ? "READY" : s == State::loading ? "LOADING" : "UNAVAILABLE";
    }

    struct Entry {
        std::string name, version = "1";
        State state;
        std::string reason;
    };

    Repository(ServingOptions options, std::vector<std::string> search_dirs)
        : options_(options), dirs_(std::move(search_dirs)) {}

    void add(const ModelSource& source) {
        check_model_name(source.name);
        std::lock_guard<std::mutex> lock(mutex_);
        XINFER_CHECK(!slots_.count(source.name), ErrorCode::invalid_argument, "two models named '", source.name,
                     "'");
        slots_[source.name].source = source;
        slots_[source.name].stats = std::make_shared<ModelStats>();
    }

    // Loads (or reloads) a model: reads its file, warms it up, swaps it in. Throws HttpError 404 for an unknown
    // name, 400 when the file does not load.
    void load(const std::string& name) {
        ModelSource source;
        std::shared_ptr<ModelStats> stats;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = slots_.find(name);
            if (it == slots_.end()) {
                const ModelSource* found = nullptr;
                std::vector<ModelSource> candidates;
                for (auto& d : dirs_)
                    for (auto& m : models_in(d)) candidates.push_back(m);
                for (auto& m : candidates)
                    if (m.name == name) found = &m;
                if (!found) throw HttpError(404, "unknown model '" + name + "'");
                slots_[name].source = *found;
                slots_[name].stats = std::make_shared<ModelStats>();
                it = slots_.find(name);
            }
            it->second.state = State::loading;
            source = it->second.source;
            stats = it->second.stats;
        }
        const auto t0 = Clock::now();
        std::shared_ptr<LoadedModel> loaded;
        try {
            loaded = build(source, stats);
        } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(mutex_);
            auto& slot = slots_[name];
            slot.state = slot.loaded ? State::ready : State::unavailable;
            slot.reason = e.what();
            throw HttpError(400, "model '" + name + "' failed to load: " + e.what());
        }
        stats->load_seconds = double(ns_between(t0, Clock::now())) * 1e-9;
        std::shared_ptr<LoadedModel> old;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto& slot = slots_[name];
            old = std::move(slot.loaded);
            slot.metadata = metadata_json(name, *loaded);
            slot.loaded = std::move(loaded);
            slot.state = State::ready;
            slot.reason.clear();
            stats->ready = true;
        }
        // `old` is released here, or by the last request still using it.
    }

    void unload(const std::string& name) {
        std::shared_ptr<LoadedModel> old;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = slots_.find(name);
            if (it == slots_.end()) throw HttpError(404, "unknown model '" + name + "'");
            old = std::move(it->second.loaded);
            it->second.state = State::unavailable;
            it->second.reason = "unloaded";
            it->second.stats->ready = false;
        }
    }

    // The loaded model, or HttpError 404 (unknown) / 503 (not ready).
    std::shared_ptr<LoadedModel> get(const std::string& name) const {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = slots_.find(name);
        if (it == slots_.end()) throw HttpError(404, "unknown model '" + name + "'");
        if (!it->second.loaded || it->second.state == State::unavailable)
            throw HttpError(503, "model '" + name + "' is not ready");
        return it->second.loaded;
    }

    // The model's metadata, also while it is unloaded; 404 unknown, 503 never loaded.
    nlohmann::json metadata(const std::string& name) const {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = slots_.find(name);
        if (it == slots_.end()) throw HttpError(404, "unknown model '" + name + "'");
        if (it->second.metadata.is_null()) throw HttpError(503, "model '" + name + "' has not been loaded yet");
        return it->second.metadata;
    }

    bool known(const std::string& name) const {
        std::lock_guard<std::mutex> lock(mutex_);
        return slots_.count(name) > 0;
    }

    std::vector<Entry> index() const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<Entry> out;
        for (auto& [name, slot] : slots_) out.push_back({name, "1", slot.state, slot.reason});
        return out;
    }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (auto& e : index()) out.push_back(e.name);
        return out;
    }

    // Ready when there is at least one model and every model not deliberately unloaded is ready.
    bool all_ready() const {
        std::lock_guard<std::mutex> lock(mutex_);
        bool any = false;
        for (auto& [name, slot] : slots_) {
            if (slot.state == State::unavailable && slot.reason == "unloaded") continue;
            if (slot.state != State::ready) return false;
            any = true;
        }
        return any;
    }

    std::vector<std::pair<std::string, std::shared_ptr<ModelStats>>> stats() const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<std::pair<std::string, std::shared_ptr<ModelStats>>> out;
        for (auto& [name, slot] : slots_) out.emplace_back(name, slot.stats);
        return out;
    }

    std::shared_ptr<ModelStats> stats_of(const std::string& name) const {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = slots_.find(name);
        if (it == slots_.end()) throw HttpError(404, "unknown model '" + name + "'");
        return it->second.stats;
    }

    // Requests waiting in every model's queue.
    size_t queued() const {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t n = 0;
        for (auto& [name, slot] : slots_)
            if (slot.loaded) n += slot.loaded->batcher->queued();
        return n;
    }

    const ServingOptions& options() const { return options_; }

private:
    struct Slot {
        ModelSource source;
        std::shared_ptr<LoadedModel> loaded;
        State state = State::loading;
        std::string reason;
        std::shared_ptr<ModelStats> stats;
        nlohmann::json metadata;  // kept after an unload
    };

    std::shared_ptr<LoadedModel> build(const ModelSource& source, const std::shared_ptr<ModelStats>& stats) const {
        ModelOptions mo;
        const int instances = std::max(1, options_.batching.instances);
        mo.threads = std::max(1, options_.threads / instances);
        auto loaded = std::make_shared<LoadedModel>(Model::load(source.path, mo), platform_of(source.path));
        const Model& m = loaded->model;
        loaded->batchable = true;
        for (auto& in : m.inputs()) loaded->batchable = loaded->batchable && !in.shape.empty() && in.shape[0] < 0;
        warm_up(*loaded);
        BatchOptions bo = options_.batching;
        bo.threads_per_instance = mo.threads;
        loaded->batcher = std::make_unique<Batcher>(m, bo, loaded->batchable, stats);
        return loaded;
    }

    // Runs batch 1 (and the largest batch) once, so that the first requests find their plans and packed weights.
    void warm_up(const LoadedModel& loaded) const {
        const Model& m = loaded.model;
        std::vector<int64_t> batches = {1};
        if (loaded.batchable && options_.batching.max_batch > 1) batches.push_back(options_.batching.max_batch);
        for (int64_t b : batches) {
            std::vector<Shape> shapes;
            std::vector<std::vector<float>> data;
            std::vector<const float*> ptrs;
            for (auto& in : m.inputs()) {
                Shape s = in.shape;
                for (size_t d = 0; d < s.size(); ++d)
                    if (s[d] < 0) s[d] = d == 0 ? b : 32;  // a free batch, or a free spatial size
                shapes.push_back(s);
                data.emplace_back(checked_numel(s));
                for (size_t i = 0; i < data.back().size(); ++i) data.back()[i] = float(i % 251) / 251.0f;
                ptrs.push_back(data.back().data());
            }
            std::vector<xt::xarray<float>> outs;
            m.run(ptrs, shapes, outs);
        }
    }

    ServingOptions options_;
    std::vector<std::string> dirs_;
    mutable std::mutex mutex_;
    std::map<std::string, Slot> slots_;
};

}  // namespace xinfer::serve
