// xinfer run: a model on .npy inputs, its outputs written as .npy files.
#include <xtensor/xnpy.hpp>

#include "common.hpp"

namespace xinfer::cli {
namespace {

std::vector<xt::xarray<float>> read_npy_inputs(const xinfer::Model& model, const std::vector<std::string>& paths) {
    std::vector<xt::xarray<float>> inputs;
    for (size_t i = 0; i < paths.size(); ++i) {
        try {
            inputs.push_back(xt::load_npy<float>(paths[i]));
        } catch (const std::exception& e) {
            XINFER_THROW(ErrorCode::io, paths[i], ": cannot read a float32 .npy array for input '",
                         model.inputs()[i].name, "' (", e.what(), ")");
        }
    }
    return inputs;
}

void write_npy_outputs(const std::vector<xt::xarray<float>>& outputs, const std::vector<std::string>& paths) {
    for (size_t i = 0; i < outputs.size(); ++i) {
        try {
            xt::dump_npy(paths[i], outputs[i]);
        } catch (const std::exception& e) {
            XINFER_THROW(ErrorCode::io, paths[i], ": cannot write (", e.what(), ")");
        }
    }
}

int run_main(const Args& args) {
    const int threads = args.get_int("--threads", 1, 1, 256);
    const xinfer::Model model = load_model(args, threads);
    const auto in_paths = args.all("--input"), out_paths = args.all("--output");
    XINFER_CHECK(in_paths.size() == model.inputs().size(), ErrorCode::invalid_argument, "the model has ",
                 model.inputs().size(), " input(s); got ", in_paths.size(), " --input");
    XINFER_CHECK(out_paths.size() == model.outputs().size(), ErrorCode::invalid_argument, "the model has ",
                 model.outputs().size(), " output(s); got ", out_paths.size(), " --output");
    const auto inputs = read_npy_inputs(model, in_paths);
    xinfer::RunOptions ro;
    ro.threads = threads;
    write_npy_outputs(model.run(inputs, ro), out_paths);
    return 0;
}

}  // namespace

Command run_command() {
    return {"run",
            "run a model on float32 .npy inputs and write its outputs as .npy files",
            "--model M --input X.npy [--input ...] --output Y.npy [--output ...] [--threads N]",
            "",
            {
                model_option(),
                {"--input", "X.npy", "a float32 array for the next model input, in the model's input order", true},
                {"--output", "Y.npy", "where to write the next model output, in the model's output order", true},
                threads_option(),
            },
            run_main,
            kModelNote};
}

}  // namespace xinfer::cli
