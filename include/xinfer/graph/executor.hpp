#pragma once
// Executor: compiles a graph into ops once (build: op_builders.hpp, then the block fusion of fuse_blocks.hpp), plans
// shapes and one activation arena per input shape (plan), and runs the ops in order (run), optionally timing each one.
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "xinfer/core/arena.hpp"
#include "xinfer/core/thread_pool.hpp"
#include "xinfer/graph/fuse_blocks.hpp"
#include "xinfer/graph/graph.hpp"
#include "xinfer/graph/memory_planner.hpp"
#include "xinfer/graph/op_builders.hpp"

namespace xinfer {

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
    using Step = ExecutionStep;

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
            XINFER_TRY {
                step.op = make_op(n, graph_, options.kernels, in_dtypes);
            } XINFER_CATCH(const Error&, e) {
                if (e.code() != ErrorCode::unsupported_op) XINFER_RETHROW;
                unsupported.push_back(e.what());
                for (auto& out : n.outputs) add_value(out, DataType::f32);  // keep later nodes resolvable
                continue;
            }
            XINFER_CHECK(step.inputs.size() == step.op->num_inputs() && step.inputs.size() <= kMaxOpInputs,
                         ErrorCode::invalid_model, n.describe(), ": expected ", step.op->num_inputs(),
                         " activation inputs, got ", step.inputs.size());
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
        if (options.fuse_blocks && options.kernels == ops::KernelSet::optimized)
            fuse_blocks(steps_, names_.size(), output_ids_);
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
