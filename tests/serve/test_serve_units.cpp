// The server's parts without HTTP: the Open Inference Protocol request parser and response writer, wire type
// conversions, classification strings, the metrics' histograms and the dynamic batcher (batched results equal
// unbatched ones; a full queue and a queue timeout are refused). The HTTP contract is tests/serve/run.sh.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <thread>

#include "testing.hpp"
#include "xinfer/serve/batcher.hpp"
#include "xinfer/serve/metrics.hpp"
#include "xinfer/serve/protocol.hpp"

namespace {

using xinfer::Model;
using xinfer::Shape;
using xinfer::serve::Batcher;
using xinfer::serve::HttpError;
using xinfer::serve::InferRequest;
using xinfer::serve::Job;
using xinfer::serve::ResponseOutput;

InferRequest parse_request(const std::string& text, const std::string& binary = "") {
    return xinfer::serve::parse_infer_request(text.data(), text.size(), reinterpret_cast<const uint8_t*>(binary.data()),
                               binary.size());
}

int request_status(const std::string& text, const std::string& binary = "") {
    try {
        parse_request(text, binary);
    } catch (const HttpError& e) {
        return e.status;
    }
    return 200;
}

}  // namespace

TEST_CASE("serve: request data nested or flat gives the same row-major values, parsed exactly") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> dist(-1e4f, 1e4f);
    std::vector<float> v(2 * 3 * 5);
    for (auto& x : v) x = dist(rng);
    nlohmann::json flat = v, nested = nlohmann::json::array();
    for (int i = 0; i < 2; ++i) {
        nlohmann::json plane = nlohmann::json::array();
        for (int j = 0; j < 3; ++j)
            plane.push_back(std::vector<float>(v.begin() + (i * 3 + j) * 5, v.begin() + (i * 3 + j + 1) * 5));
        nested.push_back(plane);
    }
    for (const auto& data : {flat, nested}) {
        const nlohmann::json req = {{"id", "r1"},
                                    {"inputs", {{{"name", "x"}, {"shape", {2, 3, 5}}, {"datatype", "FP32"},
                                                 {"data", data}}}}};
        const InferRequest r = parse_request(req.dump());
        REQUIRE(r.inputs.size() == 1);
        CHECK(r.id == std::optional<std::string>("r1"));
        CHECK(r.inputs[0].shape == std::vector<int64_t>{2, 3, 5});
        CHECK(r.inputs[0].values == v);  // nlohmann prints floats round-trip exactly; we parse them exactly
    }
}

TEST_CASE("serve: binary tensors of every numeric type, BYTES elements, and base64 in JSON") {
    const std::vector<int32_t> ints = {-7, 0, 123456, -2147483647};
    std::string bin(reinterpret_cast<const char*>(ints.data()), ints.size() * 4);
    const uint16_t halves[] = {0x3c00, 0xc000, 0x7bff, 0x0001};  // 1, -2, 65504, 2^-24
    bin.append(reinterpret_cast<const char*>(halves), sizeof halves);
    const std::string jpeg = "\xff\xd8\xff not really a jpeg";
    const uint32_t len = uint32_t(jpeg.size());
    bin.append(reinterpret_cast<const char*>(&len), 4);
    bin += jpeg;
    const nlohmann::json req = {
        {"inputs",
         {{{"name", "a"}, {"shape", {4}}, {"datatype", "INT32"}, {"parameters", {{"binary_data_size", 16}}}},
          {{"name", "h"}, {"shape", {2, 2}}, {"datatype", "FP16"}, {"parameters", {{"binary_data_size", 8}}}},
          {{"name", "img"}, {"shape", {1}}, {"datatype", "BYTES"},
           {"parameters", {{"binary_data_size", 4 + jpeg.size()}}}},
          {{"name", "b"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {{{"b64", "aGVsbG8="}}}}}}}};
    const InferRequest r = parse_request(req.dump(), bin);
    CHECK(r.inputs[0].values == std::vector<float>{-7.0f, 0.0f, 123456.0f, -2147483647.0f});
    CHECK(r.inputs[1].values == std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)});
    CHECK(r.inputs[2].elements == std::vector<std::string>{jpeg});
    CHECK(r.inputs[3].elements == std::vector<std::string>{"hello"});
}

TEST_CASE("serve: malformed requests are 400s that name the problem") {
    const std::string ok = R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]})";
    CHECK(request_status(ok) == 200);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]})") == 400);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[-2],"datatype":"FP32","data":[]}]})") == 400);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[4294967296,4294967296],"datatype":"FP32","data":[]}]})") ==
          400);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP31","data":[1,2]}]})") == 400);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,"a"]}]})") == 400);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]},)"
                    R"({"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]})") == 400);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}],)"
                    R"("outputs":[{"name":"y"},{"name":"y"}]})") == 400);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2e99]}]})") == 400);
    CHECK(request_status(R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[01,2]}]})") == 400);
    // JSON values must be values of the declared datatype
    auto typed = [](const char* type, const char* data) {
        return request_status(std::string(R"({"inputs":[{"name":"x","shape":[2],"datatype":")") + type +
                              R"(","data":)" + data + "}]}");
    };
    CHECK(typed("UINT8", "[0,255]") == 200);
    CHECK(typed("UINT8", "[300,1]") == 400);
    CHECK(typed("UINT8", "[-1,1]") == 400);
    CHECK(typed("UINT8", "[0.5,1]") == 400);
    CHECK(typed("INT8", "[-128,127]") == 200);
    CHECK(typed("INT8", "[200,1]") == 400);
    CHECK(typed("INT32", "[2147483647,-7]") == 200);
    CHECK(typed("INT32", "[1,0.5]") == 400);
    CHECK(typed("BOOL", "[true,0]") == 200);
    CHECK(typed("BOOL", "[2,1]") == 400);
    CHECK(typed("FP16", "[65504,-1.5]") == 200);
    CHECK(typed("FP16", "[70000,1]") == 400);
    // an integer beyond 64 bits is out of range, not zero
    try {
        parse_request(R"({"inputs":[{"name":"x","shape":[18446744073709551621],"datatype":"FP32","data":[1]}]})");
        FAIL("no error");
    } catch (const HttpError& e) {
        CHECK(e.status == 400);
        CHECK(std::string(e.what()).find("18446744073709551621") == std::string::npos);
        CHECK(std::string(e.what()).find("0 elements") == std::string::npos);
    }
    CHECK(request_status(R"({"id":"\ud800","inputs":[]})") == 400);  // unpaired surrogate
    CHECK(request_status("{\"id\":\"\xc3\x28\",\"inputs\":[]}") == 400);  // invalid UTF-8
    CHECK(request_status(ok.substr(0, ok.size() - 3)) == 400);              // truncated
    CHECK(request_status(std::string(100, '[') + std::string(100, ']')) == 400);  // deep, but not an object
    std::string deep = R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":)" + std::string(101, '[') +
                       "1" + std::string(101, ']') + "}]}";
    CHECK(request_status(deep) == 400);
    // binary_data_size that overruns, or leaves bytes unaccounted for
    const std::string bin = R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32",)"
                            R"("parameters":{"binary_data_size":8}}]})";
    CHECK(request_status(bin, std::string(8, '\0')) == 200);
    CHECK(request_status(bin, std::string(7, '\0')) == 400);
    CHECK(request_status(bin, std::string(9, '\0')) == 400);
    try {
        parse_request(R"({"inputs":[{"name":"pixels","shape":[3],"datatype":"FP32","data":[1,2]}]})");
        FAIL("no error");
    } catch (const HttpError& e) {
        CHECK(std::string(e.what()).find("'pixels'") != std::string::npos);
    }
    // random mutations of a valid request: an HttpError or a request, nothing else
    std::mt19937 rng(11);
    for (int i = 0; i < 2000; ++i) {
        std::string m = ok;
        const int edits = 1 + int(rng() % 4);
        for (int e = 0; e < edits; ++e) m[rng() % m.size()] = char(rng() % 256);
        try {
            parse_request(m);
        } catch (const HttpError& err) {
            CHECK(err.status == 400);
        }
    }
}

TEST_CASE("serve: the response writer's JSON and binary parts") {
    const std::vector<float> y = {0.25f, -1.5f, 3.0e-8f, 7.0f};
    std::vector<ResponseOutput> outs(2);
    outs[0].name = "y";
    outs[0].shape = {2, 2};
    outs[0].values = y.data();
    outs[1].name = "y_bin";
    outs[1].shape = {4};
    outs[1].values = y.data();
    outs[1].binary = true;
    size_t json_size = 0;
    const std::string body = xinfer::serve::write_infer_response("m", "1", std::string("id\"7"), outs, json_size);
    REQUIRE(body.size() == json_size + 16);
    const auto j = nlohmann::json::parse(body.substr(0, json_size));
    CHECK(j["id"] == "id\"7");
    CHECK(j["outputs"][0]["data"].get<std::vector<float>>() == y);
    CHECK(j["outputs"][1]["parameters"]["binary_data_size"] == 16);
    CHECK(std::memcmp(body.data() + json_size, y.data(), 16) == 0);
}

TEST_CASE("serve: classification strings are value:index:label, best first") {
    const float row[] = {0.1f, 0.7f, 0.05f, 0.15f};
    const auto s = xinfer::serve::classification_strings(row, 4, 3, {"a", "b", "c"});
    CHECK(s == std::vector<std::string>{"0.700000:1:b", "0.150000:3", "0.100000:0:a"});
}

TEST_CASE("serve: histogram buckets are cumulative, with sum and count") {
    xinfer::serve::Histogram h({1, 2, 4});
    for (double v : {0.5, 1.0, 1.5, 3.0, 9.0}) h.observe(v);
    std::string out;
    h.write(out, "x", "m=\"a\"");
    CHECK(out == "x_bucket{m=\"a\",le=\"1\"} 2\nx_bucket{m=\"a\",le=\"2\"} 3\nx_bucket{m=\"a\",le=\"4\"} 4\n"
                 "x_bucket{m=\"a\",le=\"+Inf\"} 5\nx_sum{m=\"a\"} 15\nx_count{m=\"a\"} 5\n");
}

TEST_CASE("serve: the batcher's batched results equal unbatched runs; full queues and timeouts are refused") {
    xinfer::ModelOptions mo;
    mo.threads = 1;
    const Model model = Model::load("builtin:mobilenet_v2?alpha=0.35&size=32&classes=7&seed=5", mo);
    const Shape one = {1, 32, 32, 3};
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> dist(0.0f, 1.0f);
    const int n = 12;
    auto make_job = [&](int i) {
        auto job = std::make_shared<Job>();
        job->batch = 1 + i % 3;
        Shape s = one;
        s[0] = job->batch;
        job->inputs.emplace_back(xinfer::checked_numel(s));
        for (auto& v : job->inputs[0]) v = dist(rng);
        job->shapes.push_back(s);
        return job;
    };
    std::vector<std::shared_ptr<Job>> jobs;
    for (int i = 0; i < n; ++i) jobs.push_back(make_job(i));
    auto stats = std::make_shared<xinfer::serve::ModelStats>();
    xinfer::serve::BatchOptions bo;
    bo.max_batch = 8;
    bo.max_queue_delay_us = 20000;  // gather: the jobs below arrive together
    bo.instances = 2;
    {
        Batcher batcher(model, bo, true, stats);
        std::vector<std::thread> clients;
        for (auto& job : jobs)
            clients.emplace_back([&batcher, job] {
                batcher.submit(job);
                REQUIRE(batcher.wait(*job, std::nullopt));
            });
        for (auto& c : clients) c.join();
    }
    for (auto& job : jobs) {
        REQUIRE(job->error.empty());
        const auto alone = model.run(std::vector<xt::xarray<float>>{
            xt::adapt(job->inputs[0], std::vector<size_t>(job->shapes[0].begin(), job->shapes[0].end()))});
        REQUIRE(job->outputs[0].size() == alone[0].size());
        for (size_t k = 0; k < alone[0].size(); ++k)
            CHECK(job->outputs[0][k] == doctest::Approx(alone[0][k]).epsilon(1e-6));
    }
    const auto s = stats->triton_stats("m", "1");
    CHECK(s["inference_count"] == 24);             // 12 jobs of 1, 2, 3 images
    CHECK(s["execution_count"].get<int>() < n);   // some were batched

    // A queue of one: while a slow job waits out its batching delay, a second is refused; a third times out.
    bo.max_queue = 1;
    bo.max_queue_delay_us = 300000;
    bo.instances = 1;
    Batcher slow(model, bo, true, stats);
    const auto first = make_job(0), second = make_job(1);
    slow.submit(first);
    try {
        slow.submit(second);
        FAIL("a full queue took a job");
    } catch (const HttpError& e) {
        CHECK(e.status == 503);
    }
    // withdrawn while it waits in the queue
    CHECK_FALSE(slow.wait(*first, xinfer::serve::Clock::now() + std::chrono::milliseconds(10)));
    CHECK(first->state.load() == Job::withdrawn);
}
