// Builds MobileNetV2, runs it on one image, and checks the output is a probability distribution.
#include <xinfer/xinfer.hpp>

#include <cmath>
#include <cstdio>

int main() {
    const xinfer::Model model = xinfer::Model::load("builtin:mobilenet_v2?alpha=0.5&size=96&classes=10");
    xt::xarray<float> image = xt::xarray<float>::from_shape({1, 96, 96, 3});
    for (size_t i = 0; i < image.size(); ++i) image.data()[i] = float(i % 255) / 255.0f;
    const xt::xarray<float> probs = model.run(image);
    float sum = 0;
    for (float p : probs) sum += p;
    std::printf("consumer: output %zux%zu, sum of probabilities %.6f\n", probs.shape()[0], probs.shape()[1], sum);
    return probs.shape()[1] == 10 && std::fabs(sum - 1.0f) < 1e-4f ? 0 : 1;
}
