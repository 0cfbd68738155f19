// xinfer convert: a model file to .xinf (optimized, with labels and preprocessing stored) or, for OUT.onnx, to
// ONNX (int8 layers as QuantizeLinear / DequantizeLinear pairs).
#include <cstdio>
#include <fstream>

#include "images.hpp"

namespace xinfer::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int export_onnx(const std::string& in, const std::string& out, bool exact_add) {
    const xinfer::Model m = xinfer::Model::load(in);
    xinfer::io::onnx::ExportOptions options;
    options.exact_int8_add = exact_add;
    const std::string bytes = m.to_onnx(options);
    std::ofstream f(out, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    XINFER_CHECK(f.good(), ErrorCode::io, out, ": cannot write");
    std::printf("wrote %s: ONNX opset 13, %zu bytes\n", out.c_str(), bytes.size());
    return 0;
}

int convert_main(const Args& args) {
    XINFER_CHECK(args.positional.size() == 1, ErrorCode::invalid_argument, "convert: give one input model");
    const std::string out = args.need("-o");
    if (ends_with(out, ".onnx")) return export_onnx(args.positional[0], out, args.has("--exact-add"));
    xinfer::io::XinfModel m = xinfer::Model::import_file(args.positional[0]);
    if (has_preprocessing_flags(args))
        m.metadata.preprocessing = preprocessing_from_flags(args, m.metadata.preprocessing);
    if (!args.get("--labels").empty()) m.metadata.labels = parse_labels(args.get("--labels"));
    xinfer::optimize(m.graph);
    xinfer::Executor check(m.graph);  // every node must build before a file is written
    xinfer::io::save_xinf(out, m.graph, m.metadata);
    std::printf("wrote %s: %zu layers, %zu parameters, %zu labels, preprocessing %s\n", out.c_str(),
                check.steps().size(), m.graph.parameter_count(), m.metadata.labels.size(),
                m.metadata.preprocessing ? "stored" : "not stored");
    return 0;
}

}  // namespace

Command convert_command() {
    return {"convert",
            "convert a model file to .xinf, storing labels and preprocessing, or to ONNX (-o OUT.onnx)",
            "IN -o OUT.xinf [preprocessing]   (or -o OUT.onnx [--exact-add]: ONNX export, int8 layers as QDQ)",
            "IN",
            with_preprocessing({
                {"-o", "OUT", "the file to write: OUT.xinf, or OUT.onnx for an ONNX export (int8 layers as QDQ)"},
                {"--exact-add", "",
                 "ONNX export: int8 adds as double arithmetic, so ONNX Runtime reproduces xinfer's int8 exactly "
                 "(its fused QLinearAdd rounds differently); xinfer itself does not read such files back"},
            }),
            convert_main,
            "IN: a .xinf, .onnx or TF.js model.json file. The preprocessing flags and --labels are stored in the "
            ".xinf.\n"};
}

}  // namespace xinfer::cli
