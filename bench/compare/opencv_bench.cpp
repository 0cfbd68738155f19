// Times OpenCV DNN (backend OPENCV, target CPU) on one ONNX model: load, a cold forward, 10 warm-up forwards, then
// RUNS timed forwards. Prints one JSON line with the keys of ort_bench.js.
//   opencv_bench MODEL.onnx THREADS RUNS [NxCxHxW]
// The input shape is taken from the 4th argument (default 1x3x224x224): OpenCV 4.6 has no public getter for the
// shape an ONNX graph declares. A model OpenCV cannot load or run prints {"engine": "opencv-dnn", "skipped": ...}
// and exits 0, so a harness can report it and go on.
//   g++ -O2 -std=c++17 -I/usr/include/opencv4 opencv_bench.cpp -o opencv_bench -lopencv_dnn -lopencv_core
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double peak_rss_mb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// One line, JSON-escaped: OpenCV's messages span several lines and quote file names.
std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
        if (c == ' ' && (out.size() == 1 || out.back() == ' ')) continue;  // no leading or repeated blanks
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    while (out.size() > 1 && out.back() == ' ') out.pop_back();
    return out + "\"";
}

// OpenCV's messages nest the failing check under the importer's, each with the library version, source
// position and function signature: keep the node and the check.
std::string short_reason(const std::string& message) {
    static const std::regex noise(R"(OpenCV\([^)]*\) \S+:[0-9]+: error: | in function '[^']*'|(^|\n)[> ]+)");
    return std::regex_replace(message, noise, " ");
}

int skipped(const std::string& why) {
    std::printf("{\"engine\": \"opencv-dnn\", \"version\": %s, \"skipped\": %s}\n",
                json_string(cv::getVersionString()).c_str(), json_string(short_reason(why)).c_str());
    return 0;
}

std::vector<int> parse_shape(const char* text) {
    std::vector<int> dims;
    for (const char* p = text; *p;) {
        char* end = nullptr;
        const long d = std::strtol(p, &end, 10);
        if (end == p || d <= 0) return {};
        dims.push_back(int(d));
        p = end;
        if (*p == 'x' || *p == 'X' || *p == ',') ++p;
    }
    return dims;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: opencv_bench MODEL.onnx THREADS RUNS [NxCxHxW]\n");
        return 2;
    }
    const std::string model = argv[1];
    const int threads = std::max(1, std::atoi(argv[2]));
    const int runs = std::max(1, std::atoi(argv[3]));
    const std::vector<int> dims = parse_shape(argc > 4 && *argv[4] ? argv[4] : "1x3x224x224");
    if (dims.empty()) {
        std::fprintf(stderr, "opencv_bench: bad input shape '%s'\n", argv[4]);
        return 2;
    }
    cv::setNumThreads(threads);

    // Same pseudo-random input as ort_bench.js (Knuth's multiplicative hash), plus a small offset so that no
    // element is zero.
    cv::Mat input(int(dims.size()), dims.data(), CV_32F);
    float* data = input.ptr<float>();
    for (size_t i = 0; i < input.total(); ++i)
        data[i] = float((uint32_t(i) * 2654435761u) >> 8) / 16777216.0f + 1.0f / 1024.0f;

    try {
        auto t0 = Clock::now();
        cv::dnn::Net net = cv::dnn::readNetFromONNX(model);
        const double load_ms = ms_since(t0);
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        net.setInput(input);

        t0 = Clock::now();
        cv::Mat out = net.forward();  // cold: allocates blobs and initialises layers
        const double cold_ms = ms_since(t0);
        for (int i = 0; i < 10; ++i) out = net.forward();
        std::vector<double> times;
        times.reserve(size_t(runs));
        for (int i = 0; i < runs; ++i) {
            t0 = Clock::now();
            out = net.forward();
            times.push_back(ms_since(t0));
        }
        std::sort(times.begin(), times.end());
        auto at = [&](double q) {
            return times[std::min(times.size() - 1, size_t(q * double(times.size() - 1) + 0.5))];
        };
        std::printf(
            "{\"engine\": \"opencv-dnn\", \"version\": %s, \"threads\": %d, \"median_ms\": %.4f, \"p90_ms\": %.4f, "
            "\"min_ms\": %.4f, \"cold_ms\": %.4f, \"load_ms\": %.4f, \"peak_rss_mb\": %.2f}\n",
            json_string(cv::getVersionString()).c_str(), threads, at(0.5), at(0.9), times.front(), cold_ms, load_ms,
            peak_rss_mb());
    } catch (const cv::Exception& e) {
        return skipped(e.err.empty() ? e.what() : e.err);
    } catch (const std::exception& e) {
        return skipped(e.what());
    }
    return 0;
}
