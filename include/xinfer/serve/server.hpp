#pragma once
// xinfer's model server: the Open Inference Protocol v2 over HTTP (KServe v2; Triton's HTTP API with its binary
// tensor, classification, statistics and model repository extensions), the `POST /predict` of the classic
// tutorials, dynamic batching, Prometheus metrics, draining on shutdown. Embeddable: a host application builds a
// Server around its models and calls run(). Built on cpp-httplib (Debian's libcpp-httplib-dev: compile with
// `pkg-config --cflags cpp-httplib`, link `-lcpp-httplib`) and nlohmann-json; encoded images are decoded with
// stb_image (define XINFER_STB_IMPLEMENTATION in one translation unit, see io/image_file.hpp).
//
//   xinfer::serve::ServerOptions o;            // port 8080, batches of up to 8, ...
//   xinfer::serve::Server server(o, {{"mobilenet", "mobilenet.xinf"}});
//   server.load_all();                          // loads and warms every model: ready afterwards
//   server.run();                               // until stop() (e.g. from a signal-waiting thread)
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "xinfer/serve/binding.hpp"
#include "xinfer/serve/metrics.hpp"
#include "xinfer/serve/protocol.hpp"
#include "xinfer/serve/repository.hpp"

namespace xinfer::serve {

inline constexpr const char* kVersion = "0.1.0";

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                          // 0: any free port (see Server::port())
    ServingOptions serving;                   // compute threads, instances, batching
    int64_t queue_timeout_ms = 0;             // 0: requests wait in the queue as long as it takes
    size_t max_body_bytes = size_t(64) << 20; // also caps a compressed body's decompressed size
    int http_threads = 256;                   // connections served at once (each holds a thread)
    int read_timeout_s = 5;                   // a client silent this long is cut off
    int body_timeout_s = 30;                  // a body must arrive within this
    int drain_timeout_s = 30;
    std::string cors_origin;                  // empty: no CORS headers
    bool triton_metrics = false;              // also Triton's metric names
    bool access_log = true;                   // one JSON line per request on stderr
    std::vector<std::string> model_dirs;      // where repository/models/{m}/load looks for unknown names
};

class Server {
public:
    Server(ServerOptions options, std::vector<ModelSource> models)
        : options_(std::move(options)), repo_(options_.serving, options_.model_dirs) {
        for (auto& m : models) repo_.add(m);
        setup();
    }

    // Loads and warms up every model (throws on the first that fails).
    void load_all() {
        for (auto& name : repo_.names()) repo_.load(name);
    }

    // Binds the listening socket; returns the port (useful with port 0).
    int bind() {
        port_ = options_.port == 0 ? http_.bind_to_any_port(options_.host) : options_.port;
        if (options_.port != 0 && !http_.bind_to_port(options_.host, options_.port)) port_ = -1;
        XINFER_CHECK(port_ > 0, ErrorCode::io, "cannot listen on ", options_.host, ":", options_.port);
        // cpp-httplib listens with a backlog of 5 (compiled into Debian's libcpp-httplib): a burst of new
        // connections overflows it and, with SYN cookies, large bodies get reset. Listening again only resizes it.
        if (listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);
        return port_;
    }
    int port() const { return port_; }

    // Serves until stop(). Call bind() first.
    void run() { http_.listen_after_bind(); }

    // Readiness turns 503 and new inference requests are refused; queued and running ones finish. Then stops the
    // listener (at most drain_timeout_s later). Safe to call from any thread.
    void drain_and_stop() {
        draining_ = true;
        const auto until = Clock::now() + std::chrono::seconds(options_.drain_timeout_s);
        while (Clock::now() < until && (stats_.inflight.load() > 0 || repo_.queued() > 0))
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        http_.stop();
    }
    void stop() { http_.stop(); }
    bool draining() const { return draining_; }

    Repository& repository() { return repo_; }

private:
    // Per request, on the worker thread that serves it: what the access log and the metrics report.
    struct RequestInfo {
        Clock::time_point start;
        std::string model;
        uint64_t queue_ns = 0, compute_ns = 0;
        size_t bytes_in = 0;
        bool body_unread = false;  // the request's body was not read to its end: the connection must close
    };
    static RequestInfo& info() {
        static thread_local RequestInfo i;
        return i;
    }

    static void reply(httplib::Response& res, int status, const json& body) {
        res.status = status;
        res.set_content(body.dump(), "application/json");
    }
    static void reply_error(httplib::Response& res, int status, const std::string& message) {
        reply(res, status, {{"error", message}});
    }

    // Runs a handler, turning every exception into the protocol's error reply.
    template <class F>
    void guarded(httplib::Response& res, F&& f) {
        try {
            f();
        } catch (const HttpError& e) {
            reply_error(res, e.status, e.what());
        } catch (const Error& e) {
            const bool caller = e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::shape_mismatch;
            reply_error(res, caller ? 400 : 500, e.what());
        } catch (const std::bad_alloc&) {
            reply_error(res, 503, "out of memory for this request");
        } catch (const std::exception& e) {
            reply_error(res, 500, std::string("internal error: ") + e.what());
        }
    }

    // The body, read with the size limit applied after decompression and a deadline for slow senders. For a
    // multipart form, the content of the first field named in `fields` (and the form's presence in *multipart).
    std::string read_body(const httplib::Request& req, const httplib::ContentReader& reader,
                          const std::vector<std::string>& fields = {}, bool* multipart = nullptr) {
        std::string body;
        // No length and not chunked: an empty body (curl -X POST with no data), not one that lasts until EOF.
        if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
            if (!fields.empty()) bad_request("the request has no body");
            return body;
        }
        if (req.has_header("Content-Length") && !req.has_header("Content-Encoding"))
            body.reserve(size_t(std::min<uint64_t>(req.get_header_value<uint64_t>("Content-Length"),
                                                   options_.max_body_bytes)));
        bool too_big = false, too_slow = false;
        const auto deadline = Clock::now() + std::chrono::seconds(options_.body_timeout_s);
        auto append = [&](const char* data, size_t n) {
            if (body.size() + n > options_.max_body_bytes) return !(too_big = true);
            if (Clock::now() > deadline) return !(too_slow = true);
            body.append(data, n);
            return true;
        };
        bool ok, found = false;
        info().body_unread = true;
        const bool form = req.is_multipart_form_data();
        if (form) {
            if (multipart) *multipart = true;
            bool wanted = false;
            ok = reader(
                [&](const httplib::MultipartFormData& part) {
                    wanted = !found && std::find(fields.begin(), fields.end(), part.name) != fields.end();
                    found = found || wanted;
                    return true;
                },
                [&](const char* data, size_t n) { return wanted ? append(data, n) : true; });
        } else {
            ok = reader(append);
        }
        info().bytes_in = body.size();
        info().body_unread = !ok || too_big || too_slow;
        if (too_big || (!ok && req.get_header_value_count("Content-Length") &&
                        req.get_header_value<uint64_t>("Content-Length") > options_.max_body_bytes))
            bad_request("the request body is larger than the limit of " + std::to_string(options_.max_body_bytes) +
                        " bytes (--max-body-mb)");
        if (too_slow) throw HttpError(408, "the request body took longer than " +
                                                 std::to_string(options_.body_timeout_s) + " s to arrive");
        if (!ok) bad_request("the request body could not be read (truncated, or a bad encoding)");
        if (form && !found && !fields.empty()) bad_request("the form has no field named " + json(fields).dump());
        return body;
    }

    // The model and (optional) version of a route's path; only version "1" exists.
    std::shared_ptr<LoadedModel> model_of(const httplib::Request& req, bool must_be_ready = true) {
        const std::string name = req.matches[1];
        info().model = name;
        const std::string version = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
        if (!version.empty() && version != "1") {
            if (!repo_.known(name)) throw HttpError(404, "unknown model '" + name + "'");
            throw HttpError(404, "model '" + name + "' has no version '" + version + "' (it has version 1)");
        }
        if (!must_be_ready && !repo_.known(name)) throw HttpError(404, "unknown model '" + name + "'");
        return repo_.get(name);
    }

    // The request's bytes are not needed once its inputs are bound: freed before the job waits in the queue, so
    // the requests queued at once hold their tensors only (a JSON FP32 body is 3x its tensor).
    static void release_request_bytes(std::string& body, InferRequest& r) {
        std::string().swap(body);
        for (auto& in : r.inputs) std::vector<std::string>().swap(in.elements);
    }

    // Queues the job and waits for it; 503 when it timed out in the queue, 500 when the model failed.
    void execute(LoadedModel& m, const std::shared_ptr<Job>& job, std::optional<double> timeout_us) {
        if (draining_) throw HttpError(503, "the server is shutting down (draining)");
        std::optional<Clock::time_point> deadline;
        const auto now = Clock::now();
        if (options_.queue_timeout_ms > 0) deadline = now + std::chrono::milliseconds(options_.queue_timeout_ms);
        if (timeout_us) {
            const auto t = now + std::chrono::microseconds(int64_t(std::min(*timeout_us, 3.6e12)));
            deadline = deadline ? std::min(*deadline, t) : t;
        }
        m.batcher->submit(job);
        if (!m.batcher->wait(*job, deadline)) throw HttpError(503, "the request timed out in the queue");
        info().queue_ns = job->queue_ns;
        info().compute_ns = job->infer_ns;
        if (!job->error.empty()) throw HttpError(500, "inference failed: " + job->error);
    }

    static Outcome outcome_of(int status) {
        if (status < 400) return Outcome::success;
        if (status == 503) return Outcome::rejected;
        if (status >= 500) return Outcome::failed;
        return Outcome::bad_request;
    }

    // Counts an inference request in its model's statistics whatever its end.
    struct InferenceScope {
        Server& server;
        std::shared_ptr<ModelStats> stats;
        httplib::Response& res;
        RequestTimes times;
        Clock::time_point start = Clock::now();
        bool timed_out = false;
        InferenceScope(Server& s, const std::string& model, httplib::Response& r) : server(s), res(r) {
            ++server.stats_.inflight;
            try {
                stats = server.repo_.stats_of(model);
            } catch (const HttpError&) {
            }
        }
        ~InferenceScope() {
            --server.stats_.inflight;
            if (!stats) return;
            times.total = ns_between(start, Clock::now());
            const Outcome o = res.status == 503 && res.body.find("timed out") != std::string::npos
                                  ? Outcome::timeout
                                  : outcome_of(res.status);
            stats->request_done(o, times);
        }
    };

    // Triton's Inference-Header-Content-Length: digits only, at most the body's size.
    static std::optional<size_t> header_length(const httplib::Request& req, size_t body_size) {
        if (!req.has_header("Inference-Header-Content-Length")) return std::nullopt;
        const std::string v = req.get_header_value("Inference-Header-Content-Length");
        if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
            bad_request("Inference-Header-Content-Length '" + v + "' is not a byte count");
        const uint64_t n = std::stoull(v);
        if (n > body_size)
            bad_request("Inference-Header-Content-Length " + v + " is larger than the body (" +
                        std::to_string(body_size) + " bytes)");
        return size_t(n);
    }

    static bool looks_like_image(const std::string& b) {
        return (b.size() > 3 && uint8_t(b[0]) == 0xff && uint8_t(b[1]) == 0xd8) ||
               (b.size() > 8 && b.compare(0, 4, "\x89PNG") == 0) || (b.size() > 2 && b.compare(0, 2, "BM") == 0);
    }

    // The raw form (Inference-Header-Content-Length: 0): the body is the one input of a batch-1 request.
    static InferRequest raw_request(const Model& model, std::string& body) {
        if (model.inputs().size() != 1) bad_request("a raw binary request needs a model with exactly one input");
        const TensorSpec& spec = model.inputs()[0];
        InferRequest r;
        r.raw = true;
        RequestInput in;
        in.name = spec.name;
        uint32_t prefix = 0;
        if (body.size() >= 4) std::memcpy(&prefix, body.data(), 4);
        if (looks_like_image(body) || (body.size() >= 4 && prefix == body.size() - 4)) {
            in.datatype = WireType::BYTES;
            in.elements.push_back(looks_like_image(body) ? std::move(body) : body.substr(4));
            in.shape = {1};
        } else {
            in.shape.assign(spec.shape.begin(), spec.shape.end());
            if (!in.shape.empty() && in.shape[0] < 0) in.shape[0] = 1;
            for (auto d : in.shape)
                if (d < 0) bad_request("a raw FP32 request needs an input whose dimensions are fixed beyond the batch");
            in.numel = numel_of(in.shape);
            if (body.size() != in.numel * 4)
                bad_request("a raw binary body of " + std::to_string(body.size()) + " bytes is neither an image nor " +
                            std::to_string(in.numel) + " FP32 values for input '" + spec.name + "' " +
                            describe(in.shape));
            in.values.resize(in.numel);
            std::memcpy(in.values.data(), body.data(), body.size());
        }
        r.inputs.push_back(std::move(in));
        return r;
    }

    void handle_infer(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
        InferenceScope scope(*this, std::string(req.matches[1]), res);
        guarded(res, [&] {
            // The body first: an error about the model must not leave it unread on a kept-alive connection.
            bool multipart = false;
            std::string body = read_body(req, reader, {}, &multipart);
            std::shared_ptr<LoadedModel> m = model_of(req);
            if (multipart) bad_request("an inference request is JSON (or binary), not a multipart form");
            const auto t_in = Clock::now();
            const auto json_size = header_length(req, body.size());
            InferRequest r = json_size && *json_size == 0
                                 ? raw_request(m->model, body)
                                 : parse_infer_request(body.data(), json_size.value_or(body.size()),
                                                       reinterpret_cast<const uint8_t*>(body.data()) +
                                                           json_size.value_or(body.size()),
                                                       body.size() - json_size.value_or(body.size()));
            auto job = bind_inputs(m->model, r);
            release_request_bytes(body, r);
            scope.times.input = ns_between(t_in, Clock::now());
            execute(*m, job, r.timeout_us);
            const auto t_out = Clock::now();
            const auto outputs = bind_outputs(m->model, r, *job);
            size_t header_size = 0;
            std::string payload = write_infer_response(info().model, "1", r.id, outputs, header_size);
            const bool binary = header_size != payload.size() || r.raw;
            res.status = 200;
            if (binary) {
                res.set_header("Inference-Header-Content-Length", std::to_string(header_size));
                res.set_content(std::move(payload), "application/octet-stream");
            } else {
                res.set_content(std::move(payload), "application/json");
            }
            scope.times.queue = job->queue_ns;
            scope.times.infer = job->infer_ns;
            scope.times.output = ns_between(t_out, Clock::now());
        });
    }

    // POST /predict and /predictions/{m}: one image (multipart field "file" or "image", or the raw body) -> top K.
    void handle_predict(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                        const std::string& model_name) {
        InferenceScope scope(*this, model_name, res);
        guarded(res, [&] {
            info().model = model_name;
            std::string body = read_body(req, reader, {"file", "image", "data"});
            std::shared_ptr<LoadedModel> m = repo_.get(model_name);
            int top = 5;
            if (req.has_param("top")) {
                const std::string t = req.get_param_value("top");
                if (t.empty() || t.size() > 7 || t.find_first_not_of("0123456789") != std::string::npos ||
                    std::stoi(t) < 1)
                    bad_request("top must be a positive integer, got '" + t + "'");
                top = std::stoi(t);
            }
            const auto t_in = Clock::now();
            if (m->model.inputs().size() != 1 || !is_image_input(m->model.inputs()[0]))
                bad_request("model '" + model_name + "' does not take one image");
            auto job = std::make_shared<Job>();
            job->shapes.resize(1);
            job->inputs.push_back(images_to_tensor(m->model, {body}, "the image", job->shapes[0]));
            std::string().swap(body);
            scope.times.input = ns_between(t_in, Clock::now());
            execute(*m, job, std::nullopt);
            const auto t_out = Clock::now();
            const auto p = probabilities(m->model, *job, 0);
            json preds = json::array();
            for (auto& c : m->model.top_classes(p, top))
                preds.push_back({{"label", c.label}, {"index", c.index}, {"probability", c.probability}});
            reply(res, 200,
                  {{"predictions", preds},
                   {"model", model_name},
                   {"time_ms", double(ns_between(scope.start, Clock::now())) * 1e-6}});
            scope.times.queue = job->queue_ns;
            scope.times.infer = job->infer_ns;
            scope.times.output = ns_between(t_out, Clock::now());
        });
    }

    std::string default_model(const httplib::Request& req) const {
        if (req.has_param("model")) return req.get_param_value("model");
        const auto names = repo_.names();
        if (names.empty()) throw HttpError(503, "no model is loaded");
        return names.front();
    }

    void setup_health() {
        http_.Get("/v2/health/live", [this](const httplib::Request&, httplib::Response& res) {
            if (draining_) return reply_error(res, 503, "the server is shutting down");
            reply(res, 200, {{"live", true}});
        });
        http_.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
            if (draining_) return reply_error(res, 503, "the server is shutting down");
            if (!repo_.all_ready()) return reply_error(res, 503, "not every model is loaded and warmed up");
            reply(res, 200, {{"ready", true}});
        });
        http_.Get("/v2/?", [](const httplib::Request&, httplib::Response& res) {
            reply(res, 200,
                  {{"name", "xinfer"},
                   {"version", kVersion},
                   {"extensions",
                    {"binary_tensor_data", "classification", "model_repository", "statistics", "parameters"}}});
        });
    }

    void setup_models() {
        http_.Get("/v2/models", [this](const httplib::Request&, httplib::Response& res) {
            reply(res, 200, {{"models", repo_.names()}});
        });
        auto stats = [this](const httplib::Request& req, httplib::Response& res) {
            guarded(res, [&] {
                json all = json::array();
                if (req.matches.size() > 1) {
                    model_of(req, false).reset();
                    all.push_back(repo_.stats_of(req.matches[1])->triton_stats(req.matches[1], "1"));
                } else {
                    for (auto& [name, s] : repo_.stats()) all.push_back(s->triton_stats(name, "1"));
                }
                reply(res, 200, {{"model_stats", all}});
            });
        };
        http_.Get("/v2/models/stats", stats);
        http_.Get(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/stats)", stats);
        http_.Get(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/ready)",
                  [this](const httplib::Request& req, httplib::Response& res) {
                      guarded(res, [&] {
                          model_of(req);
                          if (draining_) throw HttpError(503, "the server is shutting down");
                          reply(res, 200, {{"name", std::string(req.matches[1])}, {"ready", true}});
                      });
                  });
        http_.Get(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)",
                  [this](const httplib::Request& req, httplib::Response& res) {
                      guarded(res, [&] {
                          const std::string name = req.matches[1];
                          info().model = name;
                          const std::string version = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
                          json meta = repo_.metadata(name);
                          if (!version.empty() && version != "1")
                              throw HttpError(404, "model '" + name + "' has no version '" + version + "'");
                          reply(res, 200, meta);
                      });
                  });
        http_.Post(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/infer)",
                   [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                       handle_infer(req, res, reader);
                   });
    }

    void setup_repository() {
        http_.Post("/v2/repository/index",
                   [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                       guarded(res, [&] {
                           const std::string body = read_body(req, reader);
                           bool only_ready = false;
                           if (!body.empty()) {
                               const json j = json::parse(body, nullptr, false);
                               if (j.is_discarded() || !j.is_object()) bad_request("malformed JSON");
                               if (j.contains("ready")) only_ready = j["ready"].is_boolean() && j["ready"].get<bool>();
                           }
                           json out = json::array();
                           for (auto& e : repo_.index()) {
                               if (only_ready && e.state != Repository::State::ready) continue;
                               out.push_back({{"name", e.name},
                                              {"version", e.version},
                                              {"state", Repository::to_string(e.state)},
                                              {"reason", e.reason}});
                           }
                           reply(res, 200, out);
                       });
                   });
        http_.Post(R"(/v2/repository/models/([^/]+)/(load|unload)(?:/cascading)?)",
                   [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                       guarded(res, [&] {
                           read_body(req, reader);
                           const std::string name = req.matches[1];
                           info().model = name;
                           if (req.matches[2] == "load") {
                               check_model_name(name);
                               repo_.load(name);
                           } else {
                               repo_.unload(name);
                           }
                           reply(res, 200, json::object());
                       });
                   });
    }

    void setup_predict() {
        http_.Post("/predict",
                   [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                       std::string name;
                       guarded(res, [&] { name = default_model(req); });
                       if (!name.empty()) handle_predict(req, res, reader, name);
                   });
        http_.Post(R"(/predictions/([^/]+)(?:/[^/]+)?)",
                   [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                       handle_predict(req, res, reader, req.matches[1]);
                   });
    }

    void setup_metrics() {
        http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            std::vector<std::pair<std::string, const ModelStats*>> models;
            const auto all = repo_.stats();
            for (auto& [name, s] : all) models.emplace_back(name, s.get());
            res.set_content(write_prometheus(models, stats_, options_.triton_metrics),
                            "text/plain; version=0.0.4; charset=utf-8");
        });
    }

    void setup_cors() {
        if (options_.cors_origin.empty()) return;
        http_.set_default_headers({{"Access-Control-Allow-Origin", options_.cors_origin},
                                   {"Access-Control-Expose-Headers", "Inference-Header-Content-Length"},
                                   {"Vary", "Origin"}});
        http_.Options(".*", [](const httplib::Request&, httplib::Response& res) {
            res.status = 204;
            res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            res.set_header("Access-Control-Allow-Headers",
                           "Content-Type, Content-Encoding, Inference-Header-Content-Length");
            res.set_header("Access-Control-Max-Age", "86400");
        });
    }

    void write_access_log(const httplib::Request& req, const httplib::Response& res) {
        stats_.http_response(res.status);
        const RequestInfo i = info();
        info() = RequestInfo{};  // a request httplib refuses before routing has no start: total_us 0
        if (!options_.access_log) return;
        char when[32];
        const std::time_t t = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        const json line = {{"time", when},
                           {"method", req.method},
                           {"route", req.path},
                           {"model", i.model},
                           {"status", res.status},
                           {"bytes_in", std::max(i.bytes_in, req.body.size())},
                           {"bytes_out", res.body.size()},
                           {"queue_us", i.queue_ns / 1000},
                           {"compute_us", i.compute_ns / 1000},
                           {"total_us", i.start == Clock::time_point{} ? 0 : ns_between(i.start, Clock::now()) / 1000}};
        const std::string s = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        std::lock_guard<std::mutex> lock(log_mutex_);
        std::fwrite(s.data(), 1, s.size(), stderr);
    }

    void setup() {
        const size_t threads = size_t(std::max(1, options_.http_threads));
        http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
        http_.set_payload_max_length(options_.max_body_bytes);
        http_.set_read_timeout(options_.read_timeout_s, 0);
        http_.set_write_timeout(options_.read_timeout_s, 0);
        http_.set_keep_alive_max_count(100000);
        http_.set_keep_alive_timeout(options_.read_timeout_s);
        http_.set_tcp_nodelay(true);
        // SO_REUSEADDR, not httplib's default SO_REUSEPORT (with which a second server on the same port would
        // start and silently share its connections); the listening socket is kept for bind().
        http_.set_socket_options([this](socket_t fd) {
            const int yes = 1;
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
            listen_fd_ = fd;
        });
        http_.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
            info() = RequestInfo{Clock::now(), "", 0, 0, 0, false};
            return httplib::Server::HandlerResponse::Unhandled;
        });
        // httplib's own errors (unknown route, oversized or unreadable request) get the protocol's JSON body;
        // an oversized body is Triton's 400, not 413.
        http_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
            if (res.status == 413) {
                res.status = 400;
                res.body.clear();
                return reply_error(res, 400, "the request body is larger than the limit of " +
                                                 std::to_string(options_.max_body_bytes) + " bytes (--max-body-mb)");
            }
            if (!res.body.empty()) return;
            reply_error(res, res.status,
                        res.status == 404 ? "no route " + req.method + " " + req.path : "bad request");
        });
        http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "unknown exception";
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            reply_error(res, 500, "internal error: " + what);
        });
        // While draining, every response asks the client to close: a client must not send its next request on a
        // kept-alive connection that the server is about to close.
        // So does a response to a request whose body was left unread (too large, too slow, malformed).
        http_.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
            if (draining_ || info().body_unread) res.set_header("Connection", "close");
        });
        http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
            write_access_log(req, res);
        });
        setup_health();
        setup_models();
        setup_repository();
        setup_predict();
        setup_metrics();
        setup_cors();
    }

    ServerOptions options_;
    Repository repo_;
    ServerStats stats_;
    httplib::Server http_;
    std::atomic<bool> draining_{false};
    int port_ = -1;
    socket_t listen_fd_ = -1;
    std::mutex log_mutex_;
};

}  // namespace xinfer::serve
