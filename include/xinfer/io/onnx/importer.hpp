#pragma once
// ONNX importer: ModelProto -> xinfer graph IR.
//
// The importer walks the nodes in order and converts each with the converters that converters.hpp lists for its
// op type, on a shared ImportContext (import_context.hpp: values, layouts, the IR being built). Convolutional ops
// run in NHWC: values are tracked with the layout they are stored in, and a Transpose is inserted only where an op
// needs the other layout. Constant subgraphs are folded (ops/constant_folding.hpp). int8 graphs (QDQ and QOperator)
// import into the int8 ops of the IR (ops/qdq_fusion.hpp, ops/qlinear.hpp, ops/quantize.hpp); graph inputs and
// outputs of the IR are F32 (graph_boundary.hpp). Graph inputs may also be bound to constants at import
// (`constant_inputs`), e.g. quantization parameters that a model takes as inputs.
// Unsupported nodes are collected and reported together: never a half-loaded model.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/onnx/converters.hpp"
#include "xinfer/io/onnx/graph_boundary.hpp"
#include "xinfer/io/onnx/onnx_proto.hpp"
#include "xinfer/io/onnx/ops/constant_folding.hpp"
#include "xinfer/io/xinf.hpp"

namespace xinfer::io::onnx {

namespace detail {

// Converts one node: its domain and attributes checked, folded when its inputs are constants, else by the
// converters of its op type.
inline Status convert_node(ImportContext& ctx, const NodeProto& n) {
    const OpConverter* op = find_converter(n.op_type);
    const bool microsoft = n.domain == "com.microsoft" && op && (op->flags & OpConverter::microsoft);
    if (!n.domain.empty() && n.domain != "ai.onnx" && !microsoft) return Status::unsupported("custom domain");
    for (auto& a : n.attribute)
        if (a.g || !a.graphs.empty()) return Status::unsupported("subgraph attributes (control flow)");
    XINFER_CHECK(!n.output.empty(), ErrorCode::invalid_model, "node without outputs");
    if (Status folded = fold_constant_node(ctx, n); folded.kind() != Status::Kind::declined) return folded;
    if (op)
        for (Converter step : op->steps)
            if (Status s = step(ctx, n); s.kind() != Status::Kind::declined) return s;
    return Status::unsupported("op not supported");
}

class Importer {
public:
    Importer(const ModelProto& m, std::string source, std::string base_dir,
             std::map<std::string, Constant> constant_inputs = {}, const MappedFile* mapping = nullptr)
        : m_(m), ctx_(std::move(source), std::move(base_dir), default_opset(m)),
          constant_inputs_(std::move(constant_inputs)), mapping_(mapping) {
        ctx_.convert_node = convert_node;
    }

    XinfModel run() {
        XINFER_CHECK(m_.has_graph, ErrorCode::invalid_model, ctx_.source, ": the model has no graph");
        const GraphProto& g = m_.graph;
        for (auto& n : g.node)
            for (auto& in : n.input)
                if (!in.empty()) ctx_.consumers[in].push_back(&n);
        for (auto& out : g.output) ctx_.graph_outputs.insert(out.name);
        load_initializers(g);
        for (auto& in : g.input) {
            if (ctx_.values.count(in.name)) continue;  // an initializer listed as input (IR < 4)
            auto bound = constant_inputs_.find(in.name);
            if (bound != constant_inputs_.end()) ctx_.set_const(in.name, bound->second);
            else add_graph_input(ctx_, in);
        }
        const std::vector<std::string> unsupported = import_nodes(g);
        if (!unsupported.empty()) {
            std::string msg = ctx_.source + ": " + std::to_string(unsupported.size()) + " unsupported node(s):";
            for (auto& u : unsupported) msg += "\n  " + u;
            XINFER_THROW(ErrorCode::unsupported_op, msg);
        }
        for (auto& out : g.output) add_graph_output(ctx_, out);
        remove_dead_nodes(ctx_.graph);
        return finish();
    }

private:
    static int64_t default_opset(const ModelProto& m) {
        int64_t opset = 1;
        for (auto& o : m.opset_import)
            if (o.domain.empty() || o.domain == "ai.onnx") opset = o.version;
        return opset;
    }

    void load_initializers(const GraphProto& g) {
        for (auto& t : g.initializer) {
            XINFER_TRY {
                ctx_.set_const(t.name, to_constant(t, ctx_.base_dir, ctx_.source));
                if (mapping_ && t.has_raw_data) mapping_->release(t.raw_data, t.raw_size);
            } XINFER_CATCH(const Error&, e) {
                XINFER_THROW(e.code(), e.what(), ctx_.users_of(t.name));
            }
        }
    }

    // Converts every node; returns the report lines of the unsupported ones.
    std::vector<std::string> import_nodes(const GraphProto& g) {
        std::vector<std::string> unsupported;
        for (auto& n : g.node) {
            if (ctx_.fused.count(&n)) continue;  // already part of an int8 op
            Status s = Status::converted();
            XINFER_TRY {
                s = convert_node(ctx_, n);
            } XINFER_CATCH(const Error&, e) {
                if (e.code() != ErrorCode::unsupported_op)
                    XINFER_THROW(e.code(), ctx_.source, ": node '", n.name, "' (", n.op_type, "): ", e.what());
                s = Status::unsupported(e.what());
            } XINFER_CATCH(const std::exception&, e) {  // e.g. an index out of range in a malformed model
                XINFER_THROW(ErrorCode::invalid_model, ctx_.source, ": node '", n.name, "' (", n.op_type, "): ",
                             e.what());
            }
            if (s.ok()) {
                release_consumed_weights(n);
                continue;
            }
            if (s.kind() == Status::Kind::unsupported) unsupported.push_back(ctx_.detail_line(n, s.reason()));
            for (auto& out : n.output) ctx_.mark_unknown(out);
        }
        return unsupported;
    }

    // Frees the ONNX-order copy of a large weight once every node reading it (all of them layers, which keep
    // their own layout of it) has been imported: the importer's peak memory is then about one copy of the weights.
    void release_consumed_weights(const NodeProto& n) {
        auto is_layer = [](const NodeProto& node) {
            const OpConverter* op = find_converter(node.op_type);
            return op && (op->flags & OpConverter::layer);
        };
        if (!is_layer(n)) return;
        for (auto& in : n.input) {
            if (in.empty() || ctx_.graph_outputs.count(in) || ++imported_uses_[in] != ctx_.consumers[in].size())
                continue;
            auto it = ctx_.values.find(in);
            if (it == ctx_.values.end() || !it->second.is_const || it->second.constant.bytes < (size_t(64) << 10))
                continue;
            const auto& readers = ctx_.consumers[in];
            if (!std::all_of(readers.begin(), readers.end(), [&](const NodeProto* r) { return is_layer(*r); }))
                continue;
            it->second.constant.owner.reset();  // the graph keeps its own reference where it shares these bytes
            it->second.constant.data = nullptr;
        }
    }

    XinfModel finish() {
        XinfModel result;
        result.graph = std::move(ctx_.graph);
        for (auto& [k, v] : m_.metadata_props)
            if (k == "labels") {
                XINFER_TRY {
                    result.metadata.labels = nlohmann::json::parse(v).get<std::vector<std::string>>();
                } XINFER_CATCH(const std::exception&, unused) {
                    XINFER_THROW(ErrorCode::invalid_model, ctx_.source,
                                 ": metadata 'labels' is not a JSON list of strings");
                }
            } else if (k == "xinfer.preprocessing") {  // the exporter's; others' "preprocessing" is prose
                XINFER_TRY {
                    result.metadata.preprocessing = io::detail::preprocessing_from_json(v);
                } XINFER_CATCH(const std::exception&, e) {
                    XINFER_THROW(ErrorCode::invalid_model, ctx_.source,
                                 ": metadata 'xinfer.preprocessing' is invalid: ", e.what());
                }
            }
        XINFER_TRY {
            result.graph.sort_and_validate();
        } XINFER_CATCH(const Error&, e) {
            XINFER_THROW(e.code(), ctx_.source, ": ", e.what());
        }
        return result;
    }

    const ModelProto& m_;
    ImportContext ctx_;
    std::map<std::string, Constant> constant_inputs_;
    const MappedFile* mapping_ = nullptr;
    std::map<std::string, size_t> imported_uses_;  // ONNX value -> readers imported so far
};

}  // namespace detail

// Imports ONNX bytes; external data files are looked up next to `base_dir` (empty: none allowed). Graph inputs named
// in `constant_inputs` become constants with those values.
// `mapping`, when the bytes are a mapped file, lets the importer drop each page of it from memory once copied.
inline XinfModel import_onnx(const std::byte* data, size_t size, const std::string& source,
                             const std::string& base_dir = "",
                             const std::map<std::string, Constant>& constant_inputs = {},
                             const MappedFile* mapping = nullptr) {
    const ModelProto m = parse_model(data, size, source);
    if (mapping) mapping->release(data, size);  // parsing touched every page; each weight is read once more below
    return detail::Importer(m, source, base_dir, constant_inputs, mapping).run();
}

inline XinfModel load_onnx(const std::string& path, const std::map<std::string, Constant>& constant_inputs = {}) {
    MappedFile file(path);
    const size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    return import_onnx(file.data(), file.size(), path, dir, constant_inputs, &file);
}

}  // namespace xinfer::io::onnx
