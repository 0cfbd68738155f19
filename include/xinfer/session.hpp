#pragma once
// Session: one model's run context held by the caller, for loops that write inputs and read outputs in place.
//
//   xinfer::Session s(model);                 // plans for batch 1 when only the batch is free
//   float* x = s.input(0).as<float>();        // write the input here...
//   s.run();
//   const float* y = s.output("probs").as<float>();   // ...and read the result here: no copies either way
//
// The input and output views point into the session's arena. They stay valid until reshape() plans for other
// shapes (or the session is destroyed). Inputs never share bytes with any other value, so what is written there is
// still there after run(): a loop may change only part of an input. Outputs hold the last run's results.
// A Session is not thread-safe: use one per thread (the Model itself is shared freely).
#include <string>
#include <vector>

#include "xinfer/model.hpp"

namespace xinfer {

class Session {
public:
    // threads 0: the model's default. Plans for batch 1 when that determines every input shape; otherwise call
    // reshape() before input() and output().
    explicit Session(Model model, int threads = 0)
        : model_(std::move(model)), ctx_(threads > 0 ? threads : model_.threads(), /*max_plans=*/1) {
        bool only_batch_free = true;
        for (auto& spec : model_.inputs())
            for (size_t d = 1; d < spec.shape.size(); ++d) only_batch_free = only_batch_free && spec.shape[d] >= 0;
        if (only_batch_free) reshape(model_.input_shapes(1));
    }

    // Plans for these input shapes (nothing happens when they are the current ones). Views taken before a change
    // of shapes are invalid afterwards.
    void reshape(const std::vector<Shape>& input_shapes) {
        if (ctx_.current() && ctx_.current()->input_shapes == input_shapes) return;
        const ExecutionPlan& plan = model_.ensure_plan(ctx_, input_shapes, /*pin_inputs=*/true);
        Executor::prepare_arena(plan, ctx_.arena);
    }
    const std::vector<Shape>& input_shapes() const {
        return plan().input_shapes;
    }

    TensorView input(size_t i) { return view(executor().input_ids(), model_.inputs(), i); }
    TensorView input(const std::string& name) { return input(model_.input_index(name)); }
    TensorView output(size_t i) { return view(executor().output_ids(), model_.outputs(), i); }
    TensorView output(const std::string& name) { return output(model_.output_index(name)); }

    // Runs the model on what the input views hold. op_ns, when given, receives each layer's wall time.
    void run(std::vector<double>* op_ns = nullptr) {
        executor().run_steps(plan(), ctx_.arena, ctx_.pool, op_ns);
    }

    const Model& model() const { return model_; }

private:
    const Executor& executor() const { return model_.executor(); }
    // The one plan the session keeps: that of its current input shapes.
    const ExecutionPlan& plan() const {
        XINFER_CHECK(ctx_.current(), ErrorCode::invalid_argument, "the session has no input shapes yet: call reshape()");
        return *ctx_.current();
    }

    TensorView view(const std::vector<int>& ids, const std::vector<TensorSpec>& specs, size_t i) {
        const ExecutionPlan& p = plan();
        XINFER_CHECK(i < ids.size(), ErrorCode::invalid_argument, "index ", i, " out of range: the model has ",
                     ids.size());
        const int id = ids[i];
        return TensorView(Executor::value_data(p, ctx_.arena, id), specs[i].dtype, p.shapes[size_t(id)]);
    }

    Model model_;
    detail::RunContext ctx_;
};

}  // namespace xinfer
