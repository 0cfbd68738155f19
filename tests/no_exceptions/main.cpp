// A host compiled without exceptions (-fno-exceptions -DXINFER_NO_EXCEPTIONS): loading and running work as usual,
// and an error goes to the handler the host set, which ends the process (errors cannot be resumed).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "xinfer/xinfer.hpp"

namespace {
void report_and_exit(xinfer::ErrorCode code, const char* message) {
    std::printf("handled %s: %s\n", xinfer::to_string(code), message);
    std::fflush(stdout);
    std::exit(std::strstr(message, "no_such_model.onnx") ? 0 : 3);
}
}  // namespace

int main() {
    xinfer::set_error_handler(report_and_exit);
    const auto model = xinfer::Model::load("builtin:mobilenet_v2?alpha=0.35&size=32&classes=4");
    xt::xarray<float> x = xt::xarray<float>::from_shape({1, 32, 32, 3});
    for (size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i % 7) / 7.0f;
    const xt::xarray<float> y = model.run(x);
    std::printf("ran: %zu outputs, first %.6f\n", y.size(), double(y(0, 0)));
    xinfer::Model::load("no_such_model.onnx");  // the handler ends the process
    std::printf("not reached\n");
    return 2;
}
