#pragma once
// Node-by-node evaluation of a graph with every intermediate value kept: for calibration (batch-norm statistics,
// later int8 observers) and debugging, not for speed. A hook sees each node before it runs and may change the
// graph's constants for that node (e.g. set batch-norm statistics from the node's input).
#include <functional>
#include <map>
#include <string>

#include "xinfer/graph/executor.hpp"

namespace xinfer {

struct EvaluatedValue {
    Shape shape;
    AlignedBuffer data;
    DataType dtype = DataType::f32;
    const float* floats() const { return data.as<float>(); }
};

using ValueMap = std::map<std::string, EvaluatedValue>;
using NodeHook = std::function<void(Graph&, const Node&, const ValueMap&)>;

// g must be sorted (sort_and_validate). inputs: one entry per graph input. Returns the graph outputs, or every
// value when keep_all is set (otherwise values are freed after their last use).
inline ValueMap evaluate_nodes(Graph& g, const std::vector<EvaluatedValue*>& inputs, const NodeHook& before_node = {},
                               ops::KernelSet ks = ops::KernelSet::optimized, bool keep_all = false) {
    XINFER_CHECK(inputs.size() == g.inputs.size(), ErrorCode::invalid_argument, "evaluate_nodes: expected ",
                 g.inputs.size(), " inputs");
    ValueMap values;
    for (size_t i = 0; i < inputs.size(); ++i) {
        EvaluatedValue v;
        v.shape = inputs[i]->shape;
        v.data.resize(inputs[i]->data.size());
        std::memcpy(v.data.data(), inputs[i]->data.data(), v.data.size());
        values[g.inputs[i].name] = std::move(v);
    }
    std::map<std::string, size_t> last_use;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (auto& in : g.nodes[i].inputs) last_use[in] = i;
    for (auto& out : g.outputs) last_use[out.name] = g.nodes.size();
    ThreadPool pool(1);
    AlignedBuffer workspace;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        if (before_node) before_node(g, g.nodes[i], values);
        const Node& n = g.nodes[i];
        std::vector<Shape> shapes;
        std::vector<const void*> ptrs;
        std::vector<DataType> dtypes;
        for (auto& in : n.inputs) {
            if (in.empty() || g.is_constant(in)) continue;
            auto it = values.find(in);
            XINFER_CHECK(it != values.end(), ErrorCode::invalid_model, n.describe(), ": unknown value '", in, "'");
            shapes.push_back(it->second.shape);
            ptrs.push_back(it->second.data.data());
            dtypes.push_back(it->second.dtype);
        }
        auto op = make_op(n, g, ks, dtypes);
        XINFER_CHECK(op->num_inputs() == dtypes.size(), ErrorCode::invalid_model, n.describe(), ": expected ",
                     op->num_inputs(), " activation inputs, got ", dtypes.size());
        for (size_t k = 0; k < dtypes.size(); ++k)
            XINFER_CHECK(dtypes[k] == op->input_dtype(k), ErrorCode::invalid_model, n.describe(), ": input ", k,
                         " is ", to_string(dtypes[k]), ", the op takes ", to_string(op->input_dtype(k)));
        EvaluatedValue out;
        out.shape = op->output_shape(shapes);
        out.dtype = op->output_dtype();
        out.data.resize(checked_numel(out.shape) * size_of(out.dtype));
        const size_t ws = op->workspace_bytes(shapes, 1);
        if (workspace.size() < ws) workspace.resize(ws);
        ops::RunArgs args{ptrs.data(), shapes.data(), out.data.data(), &out.shape, workspace.data(), &pool};
        op->run(args);
        values[n.outputs[0]] = std::move(out);
        if (keep_all) continue;
        for (auto it = values.begin(); it != values.end();) {
            auto lu = last_use.find(it->first);
            const bool dead = lu == last_use.end() ? it->first != n.outputs[0] : lu->second <= i;
            it = dead ? values.erase(it) : std::next(it);
        }
    }
    return values;
}

}  // namespace xinfer
