// xinfer inspect: a model's inputs and outputs, its execution steps (op, output shape, parameters, MACs) and the
// memory planned for them.
#include <cstdio>
#include <map>

#include "common.hpp"

namespace xinfer::cli {
namespace {

// Shapes with their free dimensions by name, e.g. [batch, 3, height, width].
void print_tensor_specs(const xinfer::Model& model) {
    for (auto& spec : model.inputs())
        std::printf("input   %-24s %s %s\n", spec.name.c_str(), xinfer::to_string(spec.dtype),
                    spec.describe_shape().c_str());
    for (auto& spec : model.outputs())
        std::printf("output  %-24s %s %s\n", spec.name.c_str(), xinfer::to_string(spec.dtype),
                    spec.describe_shape().c_str());
}

// Whether some input has a free dimension besides the batch (its plan then depends on the input size).
bool has_free_inner_dimension(const xinfer::Model& model) {
    for (auto& spec : model.inputs())
        for (size_t d = 1; d < spec.shape.size(); ++d)
            if (spec.shape[d] < 0) return true;
    return false;
}

// Constant (weight) elements per node, by node name.
std::map<std::string, size_t> parameters_by_node(const xinfer::Graph& graph) {
    std::map<std::string, size_t> params_of;
    for (auto& node : graph.nodes) {
        size_t n = 0;
        for (size_t i = 1; i < node.inputs.size(); ++i)
            if (graph.is_constant(node.inputs[i])) n += graph.constants.at(node.inputs[i]).numel();
        params_of[node.name] = n;
    }
    return params_of;
}

int inspect_main(const Args& args) {
    const int batch = args.get_int("--batch", 1, 1, 4096);
    const xinfer::Model model = load_model(args, 1);
    print_tensor_specs(model);
    if (has_free_inner_dimension(model)) {
        std::printf("\nthe layers' shapes and memory depend on the input size: `xinfer run` a concrete input\n");
        return 0;
    }
    std::vector<xinfer::Shape> shapes;
    for (auto& spec : model.inputs()) shapes.push_back(concrete_shape(spec, batch));
    const xinfer::ModelPlan plan = model.plan(shapes, 1);
    std::printf("\n%-4s %-28s %-34s %-20s %10s %12s\n", "#", "layer", "op / kernel", "output", "params", "MACs");
    size_t total_params = 0;
    auto params_of = parameters_by_node(model.graph());
    for (size_t s = 0; s < plan.layers.size(); ++s) {
        const auto& layer = plan.layers[s];
        total_params += params_of[layer.name];
        std::printf("%-4zu %-28s %-34s %-20s %10zu %12zu\n", s, layer.name.c_str(), layer.kind.c_str(),
                    xinfer::to_string(layer.output_shape).c_str(), params_of[layer.name], layer.macs);
    }
    std::printf("\nlayers %zu   parameters %zu (%.2f MB as float32)   MACs %.2f M (batch %d)\n", plan.layers.size(),
                total_params, double(total_params) * 4 / 1e6, double(plan.macs) / 1e6, batch);
    std::printf("activation arena %.2f MB + op workspace %.2f MB (planned before the first run)\n",
                double(plan.activation_bytes) / 1e6, double(plan.workspace_bytes) / 1e6);
    if (!model.metadata().labels.empty()) std::printf("labels %zu\n", model.metadata().labels.size());
    return 0;
}

}  // namespace

Command inspect_command() {
    return {"inspect",
            "list a model's inputs, outputs and execution steps (op, output shape, parameters, MACs) and its memory",
            "--model M [--batch B] [--no-fuse]",
            "",
            {
                model_option(),
                {"--batch", "B", "batch size for a model whose batch dimension is free (default 1)"},
                no_fuse_option(),
            },
            inspect_main,
            kModelNote};
}

}  // namespace xinfer::cli
