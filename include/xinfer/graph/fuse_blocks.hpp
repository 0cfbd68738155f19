#pragma once
// Block fusion, a pass over an executor's built steps: each inverted-residual block ([expand 1x1 ->] depthwise
// 3x3 -> project 1x1 [-> Add of the block input]) becomes one FusedBlock step. Same results; the intermediates
// stay in cache. It works on built ops (FusedBlock::can_fuse decides), not on graph nodes.
#include <memory>
#include <string>
#include <vector>

#include "xinfer/ops/fused.hpp"

namespace xinfer {

// One op of a compiled graph, reading and writing values by id.
struct ExecutionStep {
    std::string name;
    std::unique_ptr<ops::Op> op;
    std::vector<int> inputs;  // value ids
    int output = -1;          // value id
};

namespace detail {

// Who produces and reads each value of a step list.
class StepUses {
public:
    StepUses(const std::vector<ExecutionStep>& steps, size_t value_count, const std::vector<int>& graph_outputs)
        : steps_(steps), uses_(value_count, 0), producer_(value_count, -1), reader_(value_count, -1) {
        for (size_t s = 0; s < steps.size(); ++s) {
            for (int id : steps[s].inputs) ++uses_[size_t(id)], reader_[size_t(id)] = int(s);
            producer_[size_t(steps[s].output)] = int(s);
        }
        for (int id : graph_outputs) uses_[size_t(id)] += 2;  // a graph output is never an intermediate
    }
    // The step that produces value id (-1: a graph input).
    int producer(int id) const { return producer_[size_t(id)]; }
    // The step that is the only reader of the output of step s (-1: none, or several).
    int only_reader(int s) const {
        const size_t v = size_t(steps_[size_t(s)].output);
        return uses_[v] == 1 ? reader_[v] : -1;
    }

private:
    const std::vector<ExecutionStep>& steps_;
    std::vector<int> uses_, producer_, reader_;
};

}  // namespace detail

// Replaces each [expand 1x1 ->] depthwise 3x3 -> project 1x1 [-> Add of the block input] chain whose intermediate
// values have no other reader with one FusedBlock step, placed where the chain's last step was. value_count: the
// number of value ids; graph_outputs: the ids of the graph outputs.
inline void fuse_blocks(std::vector<ExecutionStep>& steps, size_t value_count, const std::vector<int>& graph_outputs) {
    const detail::StepUses uses(steps, value_count, graph_outputs);
    auto op = [&](int s) { return s < 0 ? nullptr : steps[size_t(s)].op.get(); };
    std::vector<bool> fused(steps.size(), false);
    for (size_t d = 0; d < steps.size(); ++d) {
        if (!ops::FusedBlock::can_fuse(nullptr, op(int(d)), op(uses.only_reader(int(d))), nullptr)) continue;
        const int project = uses.only_reader(int(d));
        int expand = uses.producer(steps[d].inputs[0]);
        if (expand < 0 || fused[size_t(expand)] || uses.only_reader(expand) != int(d) ||
            !ops::FusedBlock::can_fuse(op(expand), op(int(d)), op(project), nullptr))
            expand = -1;
        const int block_input = expand >= 0 ? steps[size_t(expand)].inputs[0] : steps[d].inputs[0];
        int residual = uses.only_reader(project);
        if (residual < 0 || !ops::FusedBlock::can_fuse(nullptr, op(int(d)), op(project), op(residual)) ||
            (steps[size_t(residual)].inputs[0] != block_input && steps[size_t(residual)].inputs[1] != block_input))
            residual = -1;
        const int last = residual >= 0 ? residual : project;
        auto take = [&](int s) { return s < 0 ? nullptr : std::move(steps[size_t(s)].op); };
        ExecutionStep step;
        step.name = steps[size_t(expand >= 0 ? expand : int(d))].name;
        step.inputs = {block_input};
        step.output = steps[size_t(last)].output;
        step.op = std::make_unique<ops::FusedBlock>(take(expand), take(int(d)), take(project), take(residual),
                                                    step.name);
        for (int s : {expand, int(d), project, residual})
            if (s >= 0) fused[size_t(s)] = true;
        fused[size_t(last)] = false;
        steps[size_t(last)] = std::move(step);
    }
    std::vector<ExecutionStep> kept;
    for (size_t s = 0; s < steps.size(); ++s)
        if (!fused[s]) kept.push_back(std::move(steps[s]));
    steps = std::move(kept);
}

}  // namespace xinfer
