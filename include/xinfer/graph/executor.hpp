#pragma once
// Executor: compiles a graph into ops once (build), plans shapes and one activation arena per input shape
// (plan), and runs the ops in order (run), optionally timing each one.
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "xinfer/core/arena.hpp"
#include "xinfer/core/thread_pool.hpp"
#include "xinfer/graph/graph.hpp"
#include "xinfer/graph/memory_planner.hpp"
#include "xinfer/ops/conv2d.hpp"
#include "xinfer/ops/dense.hpp"
#include "xinfer/ops/eltwise.hpp"
#include "xinfer/ops/fused.hpp"
#include "xinfer/ops/pool.hpp"
#include "xinfer/ops/quantized.hpp"
#include "xinfer/ops/reshape.hpp"
#include "xinfer/ops/softmax.hpp"
#include "xinfer/ops/tensor_ops.hpp"

namespace xinfer {

constexpr size_t kMaxGenericInputs = 8;

// The window of a Conv or pooling node: its kernel size plus the strides, dilations and pads attributes.
inline Window2D window_attributes(const Node& n, int64_t kernel_h, int64_t kernel_w) {
    const auto strides = n.get_ints("strides", {1, 1}), dil = n.get_ints("dilations", {1, 1}),
               pads = n.get_ints("pads", {0, 0, 0, 0});
    XINFER_CHECK(strides.size() == 2 && dil.size() == 2 && pads.size() == 4, ErrorCode::invalid_model, n.describe(),
                 ": strides/dilations need 2 values and pads 4 (top, left, bottom, right)");
    auto small = [&](int64_t v) {
        XINFER_CHECK(v >= 0 && v <= (1 << 20), ErrorCode::invalid_model, n.describe(), ": attribute value ", v,
                     " out of range");
        return int(v);
    };
    Window2D w;
    w.kernel_h = small(kernel_h), w.kernel_w = small(kernel_w);
    w.stride_h = small(strides[0]), w.stride_w = small(strides[1]);
    w.dilation_h = small(dil[0]), w.dilation_w = small(dil[1]);
    w.pads = {small(pads[0]), small(pads[1]), small(pads[2]), small(pads[3])};
    return w;
}

// The ops of the int8 part of the canonical op set (see graph.hpp); null for other nodes.
inline std::unique_ptr<ops::Op> make_quantized_op(const Node& n, const Graph& g, ops::KernelSet ks) {
    const std::string who = n.describe();
    auto qparams = [&](const char* prefix) {
        const std::string p(prefix);
        return ops::make_quant_params(n.get_float(p + "_scale", std::nan("")), n.get_int(p + "_zero_point", 0), who,
                                      (p + "_scale").c_str());
    };
    auto need_inputs = [&](size_t lo, size_t hi) {
        XINFER_CHECK(n.inputs.size() >= lo && n.inputs.size() <= hi && n.outputs.size() == 1, ErrorCode::invalid_model,
                     who, ": expected ", lo, "..", hi, " inputs and 1 output, got ", n.inputs.size(), " and ",
                     n.outputs.size());
    };
    auto typed_constant = [&](size_t index, DataType dtype, size_t rank) -> const Constant& {
        const Constant& c = g.constant(n.inputs[index], n);
        XINFER_CHECK(c.dtype == dtype && c.shape.size() == rank && c.bytes == c.numel() * size_of(dtype),
                     ErrorCode::invalid_model, who, ": constant '", n.inputs[index], "' must be a rank-", rank, " ",
                     to_string(dtype), " tensor, got ", to_string(c.dtype), " ", to_string(c.shape));
        return c;
    };
    // W, W_scale and the optional bias of QConv / QDense.
    auto linear = [&](size_t w_rank, ops::QLinearParams& q, const int32_t*& bias) -> const Constant& {
        need_inputs(3, 4);
        const Constant& w = typed_constant(1, DataType::s8, w_rank);
        const Constant& ws = typed_constant(2, DataType::f32, 1);
        q.x = qparams("x");
        q.float_output = n.op == "QDense" && !n.has("y_scale");  // a classifier read in fp32
        if (!q.float_output) q.y = qparams("y");
        q.w_scale = ws.as<float>();
        q.w_scale_count = ws.numel();
        q.clamp = {n.clip_min(), n.clip_max()};
        bias = nullptr;
        if (n.inputs.size() == 4 && !n.inputs[3].empty()) {
            const Constant& b = typed_constant(3, DataType::s32, 1);
            XINFER_CHECK(b.shape[0] == w.shape[0], ErrorCode::invalid_model, who, ": bias has ", b.shape[0],
                         " values for ", w.shape[0], " outputs");
            bias = b.as<int32_t>();
        }
        return w;
    };
    if (n.op == "Quantize") {
        need_inputs(1, 1);
        return std::make_unique<ops::Quantize>(qparams("y"), ks, n.name);
    }
    if (n.op == "Dequantize") {
        need_inputs(1, 1);
        return std::make_unique<ops::Dequantize>(qparams("x"), ks, n.name);
    }
    if (n.op == "QConv") {
        ops::QLinearParams q;
        const int32_t* bias;
        const Constant& w = linear(4, q, bias);
        const Window2D win = window_attributes(n, w.shape[1], w.shape[2]);
        const int64_t group = n.get_int("group", 1);
        XINFER_CHECK(group >= 1 && w.shape[0] % group == 0, ErrorCode::invalid_model, who, ": bad group ", group);
        return std::make_unique<ops::QConv2D>(win, size_t(group), q, w.as<int8_t>(), bias, size_t(w.shape[0]),
                                              size_t(w.shape[3]), ks, n.name);
    }
    if (n.op == "QDense") {
        ops::QLinearParams q;
        const int32_t* bias;
        const Constant& w = linear(2, q, bias);
        return std::make_unique<ops::QDense>(q, w.as<int8_t>(), bias, size_t(w.shape[0]), size_t(w.shape[1]), ks,
                                             n.name);
    }
    if (n.op == "QAdd") {
        need_inputs(2, 2);
        XINFER_CHECK(!g.is_constant(n.inputs[0]) && !g.is_constant(n.inputs[1]), ErrorCode::unsupported_op, who,
                     ": adding a constant is not supported");
        return std::make_unique<ops::QAdd>(qparams("a"), qparams("b"), qparams("y"),
                                           kernels::MinMax{n.clip_min(), n.clip_max()}, ks, n.name);
    }
    if (n.op == "QGlobalAveragePool") {
        need_inputs(1, 1);
        return std::make_unique<ops::QGlobalAvgPool>(qparams("x"), qparams("y"), ks, n.name);
    }
    return nullptr;
}

// Builds the op for one node of the canonical op set (see graph.hpp). in_dtypes: the element types of the node's
// activation inputs (empty: all F32).
inline std::unique_ptr<ops::Op> make_op(const Node& n, const Graph& g, ops::KernelSet ks,
                                        const std::vector<DataType>& in_dtypes = {}) {
    if (auto q = make_quantized_op(n, g, ks)) return q;
    const bool int8_input = !in_dtypes.empty() && in_dtypes[0] == DataType::s8;
    const kernels::MinMax clamp{n.clip_min(), n.clip_max()};
    auto need_inputs = [&](size_t lo, size_t hi) {
        XINFER_CHECK(n.inputs.size() >= lo && n.inputs.size() <= hi && n.outputs.size() == 1, ErrorCode::invalid_model,
                     n.describe(), ": expected ", lo, "..", hi, " inputs and 1 output, got ", n.inputs.size(), " and ",
                     n.outputs.size());
    };
    auto f32_constant = [&](const std::string& name, size_t rank) -> const Constant& {
        const Constant& c = g.constant(name, n);
        XINFER_CHECK(c.dtype == DataType::f32 && c.shape.size() == rank && c.bytes == c.numel() * 4,
                     ErrorCode::invalid_model, n.describe(), ": constant '", name, "' must be a rank-", rank,
                     " F32 tensor, got ", to_string(c.dtype), " ", to_string(c.shape));
        return c;
    };
    auto optional_bias = [&](size_t index, size_t count) -> const float* {
        if (n.inputs.size() <= index || n.inputs[index].empty()) return nullptr;
        const Constant& b = f32_constant(n.inputs[index], 1);
        XINFER_CHECK(size_t(b.shape[0]) == count, ErrorCode::invalid_model, n.describe(), ": bias has ", b.shape[0],
                     " values for ", count, " outputs");
        return b.as<float>();
    };
    if (n.op == "Conv") {
        need_inputs(2, 3);
        const Constant& w = f32_constant(n.inputs[1], 4);
        ops::Conv2DParams p;
        p.window = window_attributes(n, w.shape[1], w.shape[2]);
        const int64_t group = n.get_int("group", 1);
        XINFER_CHECK(group >= 1 && group <= w.shape[0], ErrorCode::invalid_model, n.describe(), ": bad group ", group);
        p.groups = size_t(group);
        p.clamp = clamp;
        return std::make_unique<ops::Conv2D<float>>(p, w.as<float>(), optional_bias(2, size_t(w.shape[0])),
                                                    size_t(w.shape[0]), size_t(w.shape[3]), ks, n.name);
    }
    if (n.op == "Dense") {
        need_inputs(2, 3);
        const Constant& w = f32_constant(n.inputs[1], 2);
        return std::make_unique<ops::Dense<float>>(w.as<float>(), optional_bias(2, size_t(w.shape[0])),
                                                   size_t(w.shape[0]), size_t(w.shape[1]), clamp, ks, n.name);
    }
    if (n.op == "BatchNormalization") {
        need_inputs(5, 5);
        std::vector<float> v[4];
        for (int i = 0; i < 4; ++i) v[i] = f32_constant(n.inputs[size_t(i) + 1], 1).to_floats();
        const size_t C = v[0].size();
        XINFER_CHECK(v[1].size() == C && v[2].size() == C && v[3].size() == C, ErrorCode::invalid_model,
                     n.describe(), ": gamma/beta/mean/var differ in length");
        const double eps = n.get_float("epsilon", 1e-5);
        std::vector<float> scale(C), shift(C);
        for (size_t c = 0; c < C; ++c) {
            const double s = double(v[0][c]) / std::sqrt(double(v[3][c]) + eps);
            scale[c] = float(s);
            shift[c] = float(double(v[1][c]) - double(v[2][c]) * s);
        }
        return std::make_unique<ops::ChannelAffine<float>>(scale, shift, clamp, ks, n.name);
    }
    if (n.op == "Clip") {
        need_inputs(1, 1);
        return ops::ChannelAffine<float>::clamp_only(clamp, ks, n.name);
    }
    if (n.op == "Add") {
        need_inputs(2, 2);
        XINFER_CHECK(!g.is_constant(n.inputs[0]) && !g.is_constant(n.inputs[1]), ErrorCode::unsupported_op,
                     n.describe(), ": adding a constant is not supported");
        return std::make_unique<ops::Add<float>>(clamp, ks, n.name);
    }
    if (n.op == "GlobalAveragePool") {
        need_inputs(1, 1);
        return std::make_unique<ops::GlobalAvgPool<float>>(ks, n.name);
    }
    if (n.op == "Softmax") {
        need_inputs(1, 1);
        XINFER_CHECK(n.get_int("axis", -1) == -1, ErrorCode::unsupported_op, n.describe(),
                     ": only softmax over the last axis is supported");
        return std::make_unique<ops::Softmax<float>>(ks, n.name);
    }
    if (n.op == "AveragePool" || n.op == "MaxPool") {
        need_inputs(1, 1);
        const auto k = n.get_ints("kernel_shape", {});
        XINFER_CHECK(k.size() == 2, ErrorCode::invalid_model, n.describe(), ": kernel_shape needs 2 values");
        const Window2D w = window_attributes(n, k[0], k[1]);
        const auto mode = n.op == "MaxPool" ? kernels::f32::PoolMode::max : kernels::f32::PoolMode::average;
        return std::make_unique<ops::Pool2D<float>>(w, mode, n.get_int("count_include_pad", 0) != 0, ks, n.name);
    }
    if (n.op == "Reshape") {
        need_inputs(1, 1);
        if (int8_input) return std::make_unique<ops::Reshape<int8_t>>(n.get_ints("shape", {}), n.name);
        return std::make_unique<ops::Reshape<float>>(n.get_ints("shape", {}), n.name);
    }
    // Generic tensor ops (imported graphs).
    auto const_operand = [&](size_t i) -> std::unique_ptr<ops::ConstOperand> {
        if (!g.is_constant(n.inputs[i])) return nullptr;
        const Constant& c = g.constant(n.inputs[i], n);
        XINFER_CHECK(c.dtype == DataType::f32 && c.bytes == c.numel() * 4, ErrorCode::unsupported_op, n.describe(),
                     ": constant operand '", n.inputs[i], "' must be F32");
        return std::make_unique<ops::ConstOperand>(c.shape, c.as<float>());
    };
    if (n.op == "Transpose") {
        need_inputs(1, 1);
        return std::make_unique<ops::Transpose<float>>(n.get_ints("perm", {}), n.name);
    }
    if (n.op == "Binary") {
        need_inputs(2, 2);
        static const std::map<std::string, kernels::ref::BinaryOp> kinds{
            {"add", kernels::ref::BinaryOp::add}, {"sub", kernels::ref::BinaryOp::sub},
            {"mul", kernels::ref::BinaryOp::mul}, {"div", kernels::ref::BinaryOp::div},
            {"max", kernels::ref::BinaryOp::max}, {"min", kernels::ref::BinaryOp::min},
            {"pow", kernels::ref::BinaryOp::pow}};
        const std::string kind = n.get_string("op", "");
        XINFER_CHECK(kinds.count(kind), ErrorCode::unsupported_op, n.describe(), ": unknown binary op '", kind, "'");
        XINFER_CHECK(!(g.is_constant(n.inputs[0]) && g.is_constant(n.inputs[1])), ErrorCode::invalid_model,
                     n.describe(), ": both operands are constants (fold them)");
        return std::make_unique<ops::Binary<float>>(kinds.at(kind), const_operand(0), const_operand(1), n.name);
    }
    if (n.op == "Unary") {
        need_inputs(1, 1);
        static const std::map<std::string, kernels::ref::UnaryOp> kinds{
            {"relu", kernels::ref::UnaryOp::relu},       {"sigmoid", kernels::ref::UnaryOp::sigmoid},
            {"hard_sigmoid", kernels::ref::UnaryOp::hard_sigmoid}, {"hard_swish", kernels::ref::UnaryOp::hard_swish},
            {"tanh", kernels::ref::UnaryOp::tanh},       {"exp", kernels::ref::UnaryOp::exp},
            {"neg", kernels::ref::UnaryOp::neg},         {"abs", kernels::ref::UnaryOp::abs},
            {"sqrt", kernels::ref::UnaryOp::sqrt},       {"clip", kernels::ref::UnaryOp::clip},
            {"leaky_relu", kernels::ref::UnaryOp::leaky_relu}};
        const std::string kind = n.get_string("op", "");
        XINFER_CHECK(kinds.count(kind), ErrorCode::unsupported_op, n.describe(), ": unknown unary op '", kind, "'");
        kernels::ref::UnaryParams p;
        p.alpha = float(n.get_float("alpha", p.alpha));
        p.beta = float(n.get_float("beta", p.beta));
        p.min = n.clip_min();
        p.max = n.clip_max();
        return std::make_unique<ops::Unary<float>>(kinds.at(kind), p, n.name);
    }
    if (n.op == "Concat") {
        need_inputs(1, kMaxGenericInputs);
        for (auto& in : n.inputs)
            XINFER_CHECK(!g.is_constant(in), ErrorCode::unsupported_op, n.describe(), ": concatenating a constant");
        return std::make_unique<ops::Concat<float>>(n.inputs.size(), n.get_int("axis", 0), n.name);
    }
    if (n.op == "SoftmaxAxes") {
        need_inputs(1, 1);
        return std::make_unique<ops::SoftmaxAxes<float>>(n.get_int("axis", 0), n.get_int("count", 1), n.name);
    }
    if (n.op == "MatMul") {
        need_inputs(2, 2);
        return std::make_unique<ops::MatMul<float>>(const_operand(0), const_operand(1), n.name);
    }
    if (n.op == "Pad") {
        need_inputs(1, 1);
        return std::make_unique<ops::Pad<float>>(n.get_ints("pads", {}), float(n.get_float("value", 0.0)), n.name);
    }
    if (n.op == "Flatten") {
        need_inputs(1, 1);
        if (int8_input) return std::make_unique<ops::Flatten<int8_t>>(n.name);
        return std::make_unique<ops::Flatten<float>>(n.name);
    }
    XINFER_THROW(ErrorCode::unsupported_op, n.describe(), ": unsupported op '", n.op, "'");
}

struct ExecutorOptions {
    ops::KernelSet kernels = ops::KernelSet::optimized;
    // Run each inverted-residual block (1x1 -> depthwise 3x3 -> 1x1 [-> + input]) as one FusedBlock step: same
    // results, the intermediates stay in cache. Off: one step per node (per-layer profiles).
    bool fuse_blocks = true;
};

// Shapes, arena offsets and sizes for one set of input shapes.
struct ExecutionPlan {
    std::vector<Shape> input_shapes;
    int threads = 1;
    std::vector<Shape> shapes;        // per value
    std::vector<std::vector<Shape>> step_inputs;  // per step: its input shapes
    std::vector<size_t> offsets;      // per value, into the arena
    size_t activation_bytes = 0;      // peak of the activations
    size_t workspace_offset = 0, workspace_bytes = 0;
    size_t arena_bytes = 0;
};

class Executor {
public:
    static constexpr size_t kMaxOpInputs = 8;
    struct Step {
        std::string name;
        std::unique_ptr<ops::Op> op;
        std::vector<int> inputs;  // value ids
        int output = -1;          // value id
    };

    Executor(Graph graph, ExecutorOptions options = {}) : graph_(std::move(graph)) {
        graph_.sort_and_validate();
        for (auto& in : graph_.inputs) {
            XINFER_CHECK(in.dtype == DataType::f32, ErrorCode::unsupported_op, "graph input '", in.name, "' is ",
                         to_string(in.dtype), "; graph inputs must be F32 (quantize inside the graph)");
            add_value(in.name, DataType::f32);
        }
        // Build every op; collect every unsupported node before failing, so a user sees the whole list at once.
        std::vector<std::string> unsupported;
        for (auto& n : graph_.nodes) {
            Step step;
            step.name = n.name;
            std::vector<DataType> in_dtypes;
            for (auto& in : n.inputs)
                if (!in.empty() && !graph_.is_constant(in)) {
                    step.inputs.push_back(value_id(in, n));
                    in_dtypes.push_back(dtypes_[size_t(step.inputs.back())]);
                }
            try {
                step.op = make_op(n, graph_, options.kernels, in_dtypes);
            } catch (const Error& e) {
                if (e.code() != ErrorCode::unsupported_op) throw;
                unsupported.push_back(e.what());
                for (auto& out : n.outputs) add_value(out, DataType::f32);  // keep later nodes resolvable
                continue;
            }
            XINFER_CHECK(step.inputs.size() == step.op->num_inputs() && step.inputs.size() <= kMaxOpInputs, ErrorCode::invalid_model, n.describe(),
                         ": expected ", step.op->num_inputs(), " activation inputs, got ", step.inputs.size());
            for (size_t i = 0; i < in_dtypes.size(); ++i)
                XINFER_CHECK(in_dtypes[i] == step.op->input_dtype(i), ErrorCode::invalid_model, n.describe(),
                             ": input '", names_[size_t(step.inputs[i])], "' is ", to_string(in_dtypes[i]),
                             ", the op takes ", to_string(step.op->input_dtype(i)));
            step.output = add_value(n.outputs[0], step.op->output_dtype());
            steps_.push_back(std::move(step));
        }
        if (!unsupported.empty()) {
            std::string msg = std::to_string(unsupported.size()) + " unsupported node(s):";
            for (auto& u : unsupported) msg += "\n  " + u;
            XINFER_THROW(ErrorCode::unsupported_op, msg);
        }
        for (auto& in : graph_.inputs) input_ids_.push_back(ids_.at(in.name));
        for (auto& out : graph_.outputs) {
            output_ids_.push_back(value_id(out.name, Node{"(graph output)", "", {}, {}, {}}));
            XINFER_CHECK(dtypes_[size_t(output_ids_.back())] == DataType::f32, ErrorCode::invalid_model,
                         "graph output '", out.name, "' is ", to_string(dtypes_[size_t(output_ids_.back())]),
                         "; graph outputs must be F32 (dequantize inside the graph)");
        }
        if (options.fuse_blocks && options.kernels == ops::KernelSet::optimized) fuse_blocks();
    }

    const Graph& graph() const { return graph_; }
    const std::vector<Step>& steps() const { return steps_; }
    const std::vector<std::string>& value_names() const { return names_; }
    const std::vector<DataType>& value_dtypes() const { return dtypes_; }
    const std::vector<int>& input_ids() const { return input_ids_; }
    const std::vector<int>& output_ids() const { return output_ids_; }

    // pin_inputs keeps the input buffers alive to the end of the run, so that no other value overlaps them: their
    // contents survive run_steps() and they never share bytes with an output (Session's zero-copy buffers).
    ExecutionPlan plan(const std::vector<Shape>& input_shapes, int threads, bool pin_inputs = false) const {
        XINFER_CHECK(input_shapes.size() == graph_.inputs.size(), ErrorCode::invalid_argument, "the model takes ",
                     graph_.inputs.size(), " input(s), got ", input_shapes.size());
        ExecutionPlan p;
        p.input_shapes = input_shapes;
        p.threads = threads;
        p.shapes.assign(names_.size(), Shape{});
        for (size_t i = 0; i < input_shapes.size(); ++i) {
            const Shape& want = graph_.inputs[i].shape;
            const Shape& got = input_shapes[i];
            bool ok = want.size() == got.size();
            for (size_t d = 0; ok && d < want.size(); ++d) ok = got[d] >= 1 && (want[d] < 0 || want[d] == got[d]);
            XINFER_CHECK(ok, ErrorCode::shape_mismatch, "input '", graph_.inputs[i].name, "' has shape ",
                         to_string(got), ", the model expects ", to_string(want), " (-1: any size)");
            checked_numel(got);
            p.shapes[size_t(input_ids_[i])] = got;
        }
        std::vector<BufferLifetime> life(names_.size());
        for (int id : input_ids_) life[size_t(id)].first = -1;
        size_t workspace = 0;
        p.step_inputs.resize(steps_.size());
        for (size_t s = 0; s < steps_.size(); ++s) {
            const Step& st = steps_[s];
            std::vector<Shape>& in_shapes = p.step_inputs[s];
            for (int id : st.inputs) {
                in_shapes.push_back(p.shapes[size_t(id)]);
                life[size_t(id)].last = int(s);
            }
            Shape out = st.op->output_shape(in_shapes);
            life[size_t(st.output)].first = life[size_t(st.output)].last = int(s);
            life[size_t(st.output)].bytes = checked_numel(out) * size_of(dtypes_[size_t(st.output)]);
            p.shapes[size_t(st.output)] = std::move(out);
            workspace = std::max(workspace, st.op->workspace_bytes(in_shapes, threads));
        }
        for (int id : input_ids_) life[size_t(id)].bytes = checked_numel(p.shapes[size_t(id)]) * sizeof(float);
        for (int id : output_ids_) life[size_t(id)].last = int(steps_.size());
        if (pin_inputs)
            for (int id : input_ids_) life[size_t(id)].last = int(steps_.size());
        MemoryPlan mp = plan_memory(life);
        p.offsets = std::move(mp.offsets);
        p.activation_bytes = mp.total_bytes;
        p.workspace_offset = mp.total_bytes;
        p.workspace_bytes = workspace;
        p.arena_bytes = mp.total_bytes + AlignedBuffer::round_up(workspace + XINFER_EXTRA_BYTES, XINFER_ALIGNMENT);
        return p;
    }

    // Copies the inputs into the arena, runs every op and copies the outputs out. op_ns, when given, receives the
    // wall time of each step in nanoseconds.
    void run(const ExecutionPlan& p, Arena& arena, ThreadPool& pool, const std::vector<const float*>& inputs,
             const std::vector<float*>& outputs, std::vector<double>* op_ns = nullptr) const {
        XINFER_CHECK(inputs.size() == input_ids_.size() && outputs.size() == output_ids_.size(),
                     ErrorCode::invalid_argument, "run: expected ", input_ids_.size(), " inputs and ",
                     output_ids_.size(), " outputs");
        prepare_arena(p, arena);
        for (size_t i = 0; i < inputs.size(); ++i)
            std::memcpy(value_data(p, arena, input_ids_[i]), inputs[i],
                        checked_numel(p.shapes[size_t(input_ids_[i])]) * sizeof(float));
        run_steps(p, arena, pool, op_ns);
        for (size_t i = 0; i < outputs.size(); ++i)
            std::memcpy(outputs[i], value_data(p, arena, output_ids_[i]),
                        checked_numel(p.shapes[size_t(output_ids_[i])]) * sizeof(float));
    }

    // The pieces of run() for callers that read and write values in the arena themselves: size the arena for the
    // plan (its contents survive unless it grows), find a value's bytes, run the ops on what the arena holds.
    static void prepare_arena(const ExecutionPlan& p, Arena& arena) {
        arena.reserve_total(p.arena_bytes);
        arena.commit();
    }
    static std::byte* value_data(const ExecutionPlan& p, Arena& arena, int id) {
        return arena.pointer(p.offsets[size_t(id)]);
    }
    void run_steps(const ExecutionPlan& p, Arena& arena, ThreadPool& pool, std::vector<double>* op_ns = nullptr) const {
        XINFER_CHECK(arena.capacity() >= p.arena_bytes, ErrorCode::invalid_argument,
                     "run_steps: the arena is smaller than the plan needs");
        if (op_ns) op_ns->assign(steps_.size(), 0.0);
        const void* in_ptrs[kMaxOpInputs];
        for (size_t s = 0; s < steps_.size(); ++s) {
            const Step& st = steps_[s];
            for (size_t i = 0; i < st.inputs.size(); ++i) in_ptrs[i] = value_data(p, arena, st.inputs[i]);
            ops::RunArgs args{in_ptrs, p.step_inputs[s].data(), value_data(p, arena, st.output),
                              &p.shapes[size_t(st.output)], arena.pointer(p.workspace_offset), &pool};
            if (op_ns) {
                const auto t0 = std::chrono::steady_clock::now();
                st.op->run(args);
                (*op_ns)[s] = double(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now() - t0).count());
            } else {
                st.op->run(args);
            }
        }
    }

private:
    // Replaces each [expand 1x1 ->] depthwise 3x3 -> project 1x1 [-> Add of the block input] chain whose
    // intermediate values have no other reader with one FusedBlock step, placed where the chain's last step was.
    void fuse_blocks() {
        std::vector<int> uses(names_.size(), 0), producer(names_.size(), -1), reader(names_.size(), -1);
        for (size_t s = 0; s < steps_.size(); ++s) {
            for (int id : steps_[s].inputs) ++uses[size_t(id)], reader[size_t(id)] = int(s);
            producer[size_t(steps_[s].output)] = int(s);
        }
        for (int id : output_ids_) uses[size_t(id)] += 2;  // a graph output is never an intermediate
        // The step that is the only reader of the output of step s (-1: none, or several).
        auto only_reader = [&](int s) {
            const size_t v = size_t(steps_[size_t(s)].output);
            return uses[v] == 1 ? reader[v] : -1;
        };
        auto op = [&](int s) { return s < 0 ? nullptr : steps_[size_t(s)].op.get(); };
        std::vector<bool> fused(steps_.size(), false);
        for (size_t d = 0; d < steps_.size(); ++d) {
            if (!ops::FusedBlock::can_fuse(nullptr, op(int(d)), op(only_reader(int(d))), nullptr)) continue;
            const int project = only_reader(int(d));
            int expand = producer[size_t(steps_[d].inputs[0])];
            if (expand < 0 || fused[size_t(expand)] || only_reader(expand) != int(d) ||
                !ops::FusedBlock::can_fuse(op(expand), op(int(d)), op(project), nullptr))
                expand = -1;
            const int block_input = expand >= 0 ? steps_[size_t(expand)].inputs[0] : steps_[d].inputs[0];
            int residual = only_reader(project);
            if (residual < 0 || !ops::FusedBlock::can_fuse(nullptr, op(int(d)), op(project), op(residual)) ||
                (steps_[size_t(residual)].inputs[0] != block_input && steps_[size_t(residual)].inputs[1] != block_input))
                residual = -1;
            const int last = residual >= 0 ? residual : project;
            auto take = [&](int s) { return s < 0 ? nullptr : std::move(steps_[size_t(s)].op); };
            Step step;
            step.name = steps_[size_t(expand >= 0 ? expand : int(d))].name;
            step.inputs = {block_input};
            step.output = steps_[size_t(last)].output;
            step.op = std::make_unique<ops::FusedBlock>(take(expand), take(int(d)), take(project), take(residual),
                                                        step.name);
            for (int s : {expand, int(d), project, residual})
                if (s >= 0) fused[size_t(s)] = true;
            fused[size_t(last)] = false;
            steps_[size_t(last)] = std::move(step);
        }
        std::vector<Step> kept;
        for (size_t s = 0; s < steps_.size(); ++s)
            if (!fused[s]) kept.push_back(std::move(steps_[s]));
        steps_ = std::move(kept);
    }

    int add_value(const std::string& name, DataType dtype) {
        XINFER_CHECK(!ids_.count(name), ErrorCode::invalid_model, "value '", name, "' is defined twice");
        ids_[name] = int(names_.size());
        names_.push_back(name);
        dtypes_.push_back(dtype);
        return ids_[name];
    }
    int value_id(const std::string& name, const Node& user) const {
        auto it = ids_.find(name);
        XINFER_CHECK(it != ids_.end(), ErrorCode::invalid_model, user.describe(), ": unknown value '", name, "'");
        return it->second;
    }

    Graph graph_;
    std::vector<Step> steps_;
    std::map<std::string, int> ids_;
    std::vector<std::string> names_;
    std::vector<DataType> dtypes_;
    std::vector<int> input_ids_, output_ids_;
};

}  // namespace xinfer
