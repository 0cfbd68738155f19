// xinfer serve: the model server (Open Inference Protocol v2 / KServe v2, Triton's extensions, POST /predict,
// dynamic batching, Prometheus metrics). The server itself is include/xinfer/serve/; this is its command line.
#include <malloc.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <pthread.h>
#include <thread>

#include "common.hpp"
#include "xinfer/serve/server.hpp"

namespace xinfer::cli {
namespace {

// SIGTERM / SIGINT are taken by one thread (sigwait), which drains the server: no work in a signal handler.
sigset_t termination_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

int env_port() {
    const char* p = std::getenv("PORT");
    if (!p || !*p) return 8080;
    const std::string s = p;
    if (s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos || std::stoi(s) > 65535)
        throw UsageError("$PORT '" + s + "' is not a port number");
    return std::stoi(s);
}

serve::ServerOptions server_options(const Args& args) {
    serve::ServerOptions o;
    o.host = args.get("--host").empty() ? o.host : args.get("--host");
    o.port = args.has("--port") ? args.get_int("--port", 0, 0, 65535) : env_port();
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    o.serving.threads = args.get_int("--threads", hw, 1, 256);
    o.serving.batching.instances = args.get_int("--instances", 1, 1, 64);
    o.serving.batching.max_batch = args.get_int("--max-batch", 8, 1, 1024);
    o.serving.batching.max_queue_delay_us = args.get_int("--max-queue-delay-us", 0, 0, 10000000);
    o.serving.batching.max_queue = args.get_int("--max-queue", 1024, 1, 1000000);
    o.queue_timeout_ms = args.get_int("--queue-timeout-ms", 0, 0, 3600000);
    o.max_body_bytes = size_t(args.get_int("--max-body-mb", 64, 1, 4096)) << 20;
    o.http_threads = args.get_int("--http-threads", 256, 1, 4096);
    o.read_timeout_s = args.get_int("--read-timeout-s", 5, 1, 3600);
    o.drain_timeout_s = args.get_int("--drain-timeout-s", 30, 0, 3600);
    o.cors_origin = args.get("--cors");
    const std::string compat = args.get("--metrics-compat");
    if (!compat.empty() && compat != "triton") throw UsageError("--metrics-compat takes 'triton'");
    o.triton_metrics = compat == "triton";
    o.access_log = !args.has("--no-access-log");
    return o;
}

int serve_main(const Args& args) {
    serve::ServerOptions options = server_options(args);
    std::vector<serve::ModelSource> models;
    std::vector<std::string> model_args = args.all("--model");
    if (model_args.empty()) model_args.push_back("/mnt/models");  // KServe's mount point
    for (const auto& a : model_args) {
        if (std::filesystem::is_directory(a)) options.model_dirs.push_back(a);
        for (auto& m : serve::parse_model_argument(a)) models.push_back(m);
    }
    XINFER_CHECK(!models.empty(), ErrorCode::invalid_argument, "no model files found in ",
                 args.all("--model").empty() ? "/mnt/models" : model_args.back());

    // Request bodies and tensors are megabytes, allocated and freed on up to --http-threads threads; glibc gives
    // each thread its own arena, which keeps what it freed. Two arenas: 32 concurrent 3 MB JSON requests peaked at
    // 200 MB resident instead of 310 MB, and ran faster (Zen 5). (A fixed mmap threshold, which returns every
    // large buffer on free, cut memory further but halved throughput: page faults are dear in a VM.)
    mallopt(M_ARENA_MAX, 2);

    const sigset_t signals = termination_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread started from here on inherits the mask

    serve::Server server(options, models);
    const auto t0 = Clock::now();
    server.load_all();
    const int port = server.bind();
    std::fprintf(stderr, "xinfer serve: %zu model(s) loaded and warmed up in %.0f ms\n", models.size(),
                 ms_since(t0));
    std::fprintf(stderr, "xinfer serve: listening on http://%s:%d\n", options.host.c_str(), port);
    std::fflush(stderr);
    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        std::fprintf(stderr, "xinfer serve: %s: draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        server.drain_and_stop();
    });
    server.run();
    waiter.join();
    std::fprintf(stderr, "xinfer serve: stopped\n");
    return 0;
}

}  // namespace

Command serve_command() {
    return {"serve",
            "serve models over HTTP: Open Inference Protocol v2 (KServe/Triton), /predict, /metrics",
            "[--model [NAME=]PATH ...] [--host H] [--port P] [--threads N] [--instances K]\n"
            "[--max-batch B] [--max-queue-delay-us D] [--max-queue Q] [--queue-timeout-ms T]\n"
            "[--max-body-mb M] [--cors ORIGIN] [--metrics-compat triton] [--http-threads H]\n"
            "[--read-timeout-s S] [--drain-timeout-s S] [--no-access-log]",
            "",
            {
                {"--model", "[NAME=]PATH", "a model file, or a folder of them (default /mnt/models); repeatable",
                 true},
                {"--host", "H", "address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)"},
                {"--port", "P", "port (default $PORT, else 8080; 0: any free port)"},
                {"--threads", "N", "compute threads per model, shared by its instances (default: all cores)"},
                {"--instances", "K", "executions of a model at once (default 1)"},
                {"--max-batch", "B", "inferences per execution; 1 turns batching off (default 8)"},
                {"--max-queue-delay-us", "D", "wait up to D µs for a fuller batch (default 0: no wait)"},
                {"--max-queue", "Q", "requests waiting per model before 503 (default 1024)"},
                {"--queue-timeout-ms", "T", "a request waiting longer gets 503 (default 0: no limit)"},
                {"--max-body-mb", "M", "largest request body, also after decompression (default 64)"},
                {"--cors", "ORIGIN", "send CORS headers for ORIGIN (e.g. * or https://app.example) and answer "
                                     "OPTIONS"},
                {"--metrics-compat", "triton", "also export Triton's metric names (nv_inference_*)"},
                {"--http-threads", "H", "connections served at once (default 256)"},
                {"--read-timeout-s", "S", "cut off a client silent for S seconds (default 5)"},
                {"--drain-timeout-s", "S", "on SIGTERM, wait at most S s for requests to finish (default 30)"},
                {"--no-access-log", "", "no JSON access-log line per request on stderr"},
            },
            serve_main,
            "Prints 'xinfer serve: listening on http://HOST:PORT' on stderr once every model is loaded and\n"
            "warmed up. Routes: /v2/health/{live,ready}, /v2, /v2/models/{m}[/versions/1][/ready|/infer|/stats],\n"
            "/v2/repository/index, /v2/repository/models/{m}/{load,unload}, /predict, /predictions/{m}, /metrics.\n"};
}

}  // namespace xinfer::cli
