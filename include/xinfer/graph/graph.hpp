#pragma once
// The graph IR: named values (activations, NHWC), nodes in xinfer's canonical op set, and named constant tensors.
// Importers translate foreign formats into this IR; passes rewrite it; the executor compiles it into ops.
//
// Canonical op set (inputs after the first are constants unless noted):
//   Conv               x, W[Cout][KH][KW][Cin/group] (OHWI), B[Cout]?   strides, pads(t,l,b,r), dilations, group
//   BatchNormalization x, gamma, beta, mean, var                         epsilon
//   Clip               x                                                 clip_min, clip_max
//   Add                a, b (both activations, same shape)
//   GlobalAveragePool  x[N,H,W,C] -> [N,1,1,C]
//   Dense              x[N,...] (flattened to [N,K]), W[Nout][K], B[Nout]?
//   AveragePool        x[N,H,W,C]                                        kernel_shape, strides, pads, dilations,
//   MaxPool                                                              count_include_pad (average only)
//   Flatten            x[N,...] -> [N, prod(...)]   (a reinterpretation in NHWC order)
//   Reshape            x -> shape (attribute; dimension 0 may be -1: the input's batch)
//   Softmax            x[N,C] over C
// Generic tensor ops of imported graphs (any rank, on the tensor as stored; operands may be constants):
//   Transpose perm | Binary op=add|sub|mul|div|max|min|pow (numpy broadcasting) | Unary op=relu|sigmoid|
//   hard_sigmoid|hard_swish|tanh|exp|neg|abs|sqrt|clip|leaky_relu (alpha, beta, clip_min, clip_max) |
//   Concat axis | SoftmaxAxes axis, count | MatMul (batched) | Pad pads (begin..., end...), value
// Conv, Dense and Add carry an optional fused clamp: attributes clip_min / clip_max.
//
// int8 ops (docs/int8.md). Activations are I8 with a per-tensor scale and zero point held in attributes
// (x_scale/x_zero_point for the input, y_scale/y_zero_point for the output). Weights are I8, symmetric, per output
// channel, with an F32 scale vector (length Cout, or 1 for per tensor); biases are I32 at scale
// x_scale * w_scale[c]. clip_min / clip_max (real values) become int8 bounds of the output.
//   Quantize           x F32 -> I8                                        y_scale, y_zero_point
//   Dequantize         x I8 -> F32                                        x_scale, x_zero_point
//   QConv              x, W I8 OHWI, W_scale F32, B I32[Cout]?          Conv's attributes, x_*, y_*, clip_*
//   QDense             x[N,...], W I8 [Nout][K], W_scale F32, B I32?     x_*, y_*, clip_* (no y_*: F32 output)
//   QAdd               a, b (activations)                                 a_scale, a_zero_point, b_scale,
//                                                                         b_zero_point, y_*, clip_*
//   QGlobalAveragePool x[N,H,W,C] -> [N,1,1,C]                            x_*, y_*
//   Flatten, Reshape keep their input's dtype. Graph inputs and outputs are F32.
//
// Each op kind has one builder in op_builders.hpp (op_builders()); its comment lists what adding an op touches.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/dtype.hpp"
#include "xinfer/core/shape.hpp"

namespace xinfer {

// An immutable tensor of weights. Its bytes are owned by `owner` (an AlignedBuffer, or a mapped file).
struct Constant {
    DataType dtype = DataType::f32;
    Shape shape;
    std::shared_ptr<const void> owner;
    const std::byte* data = nullptr;
    size_t bytes = 0;

    template <class T> const T* as() const { return reinterpret_cast<const T*>(data); }
    size_t numel() const { return checked_numel(shape); }

    static Constant copy_of(DataType dtype, Shape shape, const void* src, size_t bytes) {
        auto buf = std::make_shared<AlignedBuffer>(bytes);
        if (bytes) std::memcpy(buf->data(), src, bytes);
        Constant c;
        c.dtype = dtype;
        c.shape = std::move(shape);
        c.data = buf->data();
        c.bytes = bytes;
        c.owner = std::move(buf);
        return c;
    }
    // A new F32 constant of `shape` whose values fill(float*) writes: no intermediate copy of large weights.
    template <class Fill>
    static Constant make_f32(Shape shape, Fill&& fill) {
        const size_t n = checked_numel(shape);
        auto buf = std::make_shared<AlignedBuffer>(n * sizeof(float));
        fill(buf->as<float>());
        Constant c;
        c.dtype = DataType::f32;
        c.shape = std::move(shape);
        c.data = buf->data();
        c.bytes = n * sizeof(float);
        c.owner = std::move(buf);
        return c;
    }
    static Constant from_floats(Shape shape, const std::vector<float>& values) {
        XINFER_CHECK(checked_numel(shape) == values.size(), ErrorCode::internal, "constant shape ",
                     to_string(shape), " does not match ", values.size(), " values");
        return copy_of(DataType::f32, std::move(shape), values.data(), values.size() * sizeof(float));
    }
    std::vector<float> to_floats() const {
        XINFER_CHECK(dtype == DataType::f32, ErrorCode::internal, "constant is not F32");
        return std::vector<float>(as<float>(), as<float>() + numel());
    }
};

using Attribute = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

struct Node {
    std::string name;
    std::string op;
    std::vector<std::string> inputs;   // value or constant names; "" marks an absent optional input
    std::vector<std::string> outputs;  // value names
    std::map<std::string, Attribute> attrs;

    bool has(const std::string& key) const { return attrs.count(key) != 0; }
    int64_t get_int(const std::string& key, int64_t fallback) const {
        auto it = attrs.find(key);
        if (it == attrs.end()) return fallback;
        if (auto v = std::get_if<int64_t>(&it->second)) return *v;
        XINFER_THROW(ErrorCode::invalid_model, "node '", name, "' (", op, "): attribute '", key, "' is not an integer");
    }
    double get_float(const std::string& key, double fallback) const {
        auto it = attrs.find(key);
        if (it == attrs.end()) return fallback;
        if (auto v = std::get_if<double>(&it->second)) return *v;
        if (auto v = std::get_if<int64_t>(&it->second)) return double(*v);
        XINFER_THROW(ErrorCode::invalid_model, "node '", name, "' (", op, "): attribute '", key, "' is not a number");
    }
    std::vector<int64_t> get_ints(const std::string& key, std::vector<int64_t> fallback) const {
        auto it = attrs.find(key);
        if (it == attrs.end()) return fallback;
        if (auto v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
        XINFER_THROW(ErrorCode::invalid_model, "node '", name, "' (", op, "): attribute '", key,
                     "' is not a list of integers");
    }
    std::string get_string(const std::string& key, std::string fallback) const {
        auto it = attrs.find(key);
        if (it == attrs.end()) return fallback;
        if (auto v = std::get_if<std::string>(&it->second)) return *v;
        XINFER_THROW(ErrorCode::invalid_model, "node '", name, "' (", op, "): attribute '", key, "' is not a string");
    }
    // The fused output clamp (ReLU = [0, inf), ReLU6 = [0, 6]).
    float clip_min() const { return float(get_float("clip_min", -std::numeric_limits<double>::infinity())); }
    float clip_max() const { return float(get_float("clip_max", std::numeric_limits<double>::infinity())); }
    std::string describe() const { return "node '" + name + "' (" + op + ")"; }
};

// A graph input or output. A dimension of -1 takes any size at run time (the batch, or e.g. the height and width
// of an image input). dim_names optionally names dimensions ("batch", "height"; "" for a concrete or unnamed one):
// empty, or one entry per dimension.
struct ValueInfo {
    std::string name;
    DataType dtype = DataType::f32;
    Shape shape;
    std::vector<std::string> dim_names = {};  // "= {}": aggregate initialisers may leave it out

    // The name of dimension d, or "" when it has none.
    const std::string& dim_name(size_t d) const {
        static const std::string none;
        return d < dim_names.size() ? dim_names[d] : none;
    }
};

struct Graph {
    std::vector<ValueInfo> inputs, outputs;
    std::vector<Node> nodes;
    std::map<std::string, Constant> constants;

    bool is_constant(const std::string& name) const { return constants.count(name) != 0; }
    const Constant& constant(const std::string& name, const Node& user) const {
        auto it = constants.find(name);
        XINFER_CHECK(it != constants.end(), ErrorCode::invalid_model, user.describe(), ": constant '", name,
                     "' is missing");
        return it->second;
    }

    // Reorders nodes topologically; throws on cycles, values produced twice, or inputs that nothing produces.
    void sort_and_validate() {
        std::map<std::string, size_t> producer;
        for (size_t i = 0; i < nodes.size(); ++i)
            for (auto& out : nodes[i].outputs) {
                XINFER_CHECK(!out.empty(), ErrorCode::invalid_model, nodes[i].describe(), " has an unnamed output");
                XINFER_CHECK(producer.emplace(out, i).second && !is_constant(out), ErrorCode::invalid_model, "value '",
                             out, "' is produced more than once");
            }
        std::set<std::string> graph_inputs;
        for (auto& in : inputs) {
            XINFER_CHECK(!producer.count(in.name), ErrorCode::invalid_model, "graph input '", in.name,
                         "' is also produced by a node");
            graph_inputs.insert(in.name);
        }
        std::vector<int> state(nodes.size(), 0);  // 0 new, 1 visiting, 2 done
        std::vector<Node> order;
        order.reserve(nodes.size());
        // Iterative DFS so that deep graphs cannot overflow the stack.
        for (size_t root = 0; root < nodes.size(); ++root) {
            if (state[root]) continue;
            std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
            state[root] = 1;
            while (!stack.empty()) {
                auto& [n, next_input] = stack.back();
                if (next_input < nodes[n].inputs.size()) {
                    const std::string& in = nodes[n].inputs[next_input++];
                    if (in.empty() || is_constant(in) || graph_inputs.count(in)) continue;
                    auto it = producer.find(in);
                    XINFER_CHECK(it != producer.end(), ErrorCode::invalid_model, nodes[n].describe(), ": input '", in,
                                 "' is neither a graph input, a constant nor produced by a node");
                    XINFER_CHECK(state[it->second] != 1, ErrorCode::invalid_model, "the graph has a cycle through ",
                                 nodes[it->second].describe());
                    if (state[it->second] == 0) {
                        state[it->second] = 1;
                        stack.emplace_back(it->second, 0);
                    }
                } else {
                    state[n] = 2;
                    order.push_back(std::move(nodes[n]));
                    stack.pop_back();
                }
            }
        }
        nodes = std::move(order);
        for (auto& out : outputs)
            XINFER_CHECK(producer.count(out.name) || graph_inputs.count(out.name), ErrorCode::invalid_model,
                         "graph output '", out.name, "' is not produced by any node");
    }

    size_t parameter_count() const {
        size_t n = 0;
        for (auto& [name, c] : constants) n += c.numel();
        return n;
    }
};

// Whether the graph's last node is a Softmax (its output then already holds probabilities).
inline bool ends_in_softmax(const Graph& g) { return !g.nodes.empty() && g.nodes.back().op == "Softmax"; }

}  // namespace xinfer
