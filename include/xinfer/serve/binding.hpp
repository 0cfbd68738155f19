#pragma once
// From a parsed request to the model's input tensors, and from the model's outputs to the response: the checks
// a request must pass against the model (names, datatypes, shapes), images decoded and preprocessed with what
// the model stores, UINT8 pixels normalised, classification strings.
#include <cmath>
#include <string>
#include <vector>

#include "xinfer/io/image_file.hpp"
#include "xinfer/model.hpp"
#include "xinfer/serve/batcher.hpp"
#include "xinfer/serve/protocol.hpp"

namespace xinfer::serve {

// An image input: rank 4 with 3 channels (NHWC, or NCHW for imported models).
inline bool is_image_input(const TensorSpec& spec) {
    const Shape& s = spec.shape;
    return s.size() == 4 && (s[3] == 3 || s[1] == 3);
}

inline std::string describe(const std::vector<int64_t>& shape) {
    return json(shape).dump();
}

// Encoded images -> the model's input tensor [N, H, W, 3] (or [N, 3, H, W]), preprocessed as the model stores.
inline std::vector<float> images_to_tensor(const Model& model, const std::vector<std::string>& images,
                                           const std::string& where, Shape& shape) {
    if (!model.metadata().preprocessing)
        bad_request(where + ": the model stores no image preprocessing, so it cannot take encoded images");
    std::vector<float> out;
    for (size_t i = 0; i < images.size(); ++i) {
        io::RgbImage img;
        try {
            img = io::decode_rgb(images[i].data(), images[i].size(), where + " element " + std::to_string(i));
        } catch (const Error& e) {
            bad_request(e.what());
        }
        const xt::xarray<float> x = model.image_input(img.pixels.get(), img.width, img.height);
        out.insert(out.end(), x.begin(), x.end());
        shape = Shape(x.shape().begin(), x.shape().end());
    }
    shape[0] = int64_t(images.size());
    return out;
}

// Checks one numeric input against the model's spec and converts it: UINT8 into an image input is pixels,
// normalised with the model's preprocessing; every other numeric type is taken as values.
inline std::vector<float> numeric_input(const Model& model, size_t index, RequestInput& in, Shape& shape) {
    const TensorSpec& spec = model.inputs()[index];
    const std::string where = "input '" + in.name + "'";
    if (in.shape.size() != spec.shape.size())
        bad_request(where + ": shape " + describe(in.shape) + " does not match the model's " + spec.describe_shape());
    for (size_t d = 0; d < in.shape.size(); ++d)
        if ((spec.shape[d] >= 0 && in.shape[d] != spec.shape[d]) || in.shape[d] == 0)
            bad_request(where + ": shape " + describe(in.shape) + " does not match the model's " +
                        spec.describe_shape());
    shape = Shape(in.shape.begin(), in.shape.end());
    if (in.datatype == WireType::UINT8 && is_image_input(spec) && model.metadata().preprocessing) {
        const io::Normalization norm(*model.metadata().preprocessing);
        const bool nchw = spec.shape[1] == 3 && spec.shape[3] != 3;
        const size_t plane = nchw ? size_t(shape[2] * shape[3]) : 1;
        for (size_t i = 0; i < in.values.size(); ++i) in.values[i] = norm(in.values[i], int((i / plane) % 3));
    }
    return std::move(in.values);
}

// The request's inputs, in the model's order, as a queued job.
inline std::shared_ptr<Job> bind_inputs(const Model& model, InferRequest& req) {
    const auto& specs = model.inputs();
    auto job = std::make_shared<Job>();
    job->inputs.resize(specs.size());
    job->shapes.resize(specs.size());
    std::vector<bool> given(specs.size(), false);
    for (auto& in : req.inputs) {
        size_t index = specs.size();
        for (size_t i = 0; i < specs.size(); ++i)
            if (specs[i].name == in.name) index = i;
        if (index == specs.size()) {
            if (specs.size() == 1 && req.inputs.size() == 1 && in.datatype == WireType::BYTES) index = 0;
            else bad_request("the model has no input named '" + in.name + "'");
        }
        given[index] = true;
        if (in.datatype == WireType::BYTES) {
            if (!is_image_input(specs[index]))
                bad_request("input '" + in.name + "': BYTES (encoded images) need an image input");
            if (in.shape.size() != 1 && !(in.shape.size() == 2 && in.shape[1] == 1))
                bad_request("input '" + in.name + "': BYTES images take shape [N], got " + describe(in.shape));
            if (in.elements.empty()) bad_request("input '" + in.name + "': no images");
            job->inputs[index] = images_to_tensor(model, in.elements, "input '" + in.name + "'", job->shapes[index]);
        } else {
            job->inputs[index] = numeric_input(model, index, in, job->shapes[index]);
        }
    }
    for (size_t i = 0; i < specs.size(); ++i)
        if (!given[i]) bad_request("input '" + specs[i].name + "' is missing");
    job->batch = job->shapes[0].empty() ? 1 : job->shapes[0][0];
    for (auto& s : job->shapes)
        if (s.empty() || s[0] != job->batch)
            bad_request("the inputs disagree on the batch size (first dimension)");
    return job;
}

// The outputs the request asked for (all when it named none), in binary or JSON as asked.
inline std::vector<ResponseOutput> bind_outputs(const Model& model, const InferRequest& req, const Job& job) {
    const auto& specs = model.outputs();
    std::vector<ResponseOutput> out;
    auto make = [&](size_t i, bool binary, int classification) {
        ResponseOutput o;
        o.name = specs[i].name;
        o.binary = binary;
        o.shape.assign(job.output_shapes[i].begin(), job.output_shapes[i].end());
        if (classification == 0) {
            o.values = job.outputs[i].data();
        } else {
            const size_t rows = o.shape.size() >= 2 ? size_t(o.shape[0]) : 1;
            const size_t per_row = rows ? job.outputs[i].size() / rows : 0;
            for (size_t r = 0; r < rows; ++r) {
                auto s = classification_strings(job.outputs[i].data() + r * per_row, per_row, classification,
                                                model.metadata().labels);
                for (auto& x : s) o.strings.push_back(std::move(x));
            }
            const int64_t k = int64_t(std::min(per_row, size_t(classification)));
            o.shape = o.shape.size() >= 2 ? std::vector<int64_t>{int64_t(rows), k} : std::vector<int64_t>{k};
        }
        out.push_back(std::move(o));
    };
    if (req.outputs.empty()) {
        for (size_t i = 0; i < specs.size(); ++i) make(i, req.binary_output || req.raw, 0);
        return out;
    }
    for (auto& r : req.outputs) {
        size_t index = specs.size();
        for (size_t i = 0; i < specs.size(); ++i)
            if (specs[i].name == r.name) index = i;
        if (index == specs.size()) bad_request("the model has no output named '" + r.name + "'");
        make(index, r.binary.value_or(req.binary_output || req.raw), r.classification);
    }
    return out;
}

// Every class's probability for row `row` of the first output (softmax applied unless the model ends in one):
// the numbers `xinfer classify` prints.
inline std::vector<float> probabilities(const Model& model, const Job& job, size_t row) {
    const auto& y = job.outputs.at(0);
    const Shape& s = job.output_shapes.at(0);
    if (s.size() != 2) throw HttpError(400, "the model's output is not [batch, classes]: it is not a classifier");
    const size_t classes = size_t(s[1]);
    const auto first = y.begin() + long(row * classes);
    return model.to_probabilities(std::vector<float>(first, first + long(classes)));
}

}  // namespace xinfer::serve
