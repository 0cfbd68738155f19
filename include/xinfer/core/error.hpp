#pragma once
// Errors: every failure a user can cause (bad file, bad shape, unsupported op) is an xinfer::Error.
#include <sstream>
#include <stdexcept>
#include <string>

namespace xinfer {

enum class ErrorCode {
    io,                // a file could not be opened, read or written
    invalid_model,     // the model file is malformed or inconsistent
    unsupported_op,    // a valid model uses something xinfer cannot run
    shape_mismatch,    // a tensor's shape or dtype is not what was expected
    invalid_argument,  // a caller passed a bad value
    internal,          // a bug in xinfer
};

inline const char* to_string(ErrorCode code) {
    switch (code) {
        case ErrorCode::io: return "io";
        case ErrorCode::invalid_model: return "invalid_model";
        case ErrorCode::unsupported_op: return "unsupported_op";
        case ErrorCode::shape_mismatch: return "shape_mismatch";
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::internal: return "internal";
    }
    return "unknown";
}

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}
}  // namespace detail

}  // namespace xinfer

// Throws xinfer::Error(code, message) where message is the streamed concatenation of the remaining arguments.
#define XINFER_THROW(code, ...) throw ::xinfer::Error((code), ::xinfer::detail::concat(__VA_ARGS__))

#define XINFER_CHECK(cond, code, ...)          \
    do {                                       \
        if (!(cond)) XINFER_THROW(code, __VA_ARGS__); \
    } while (0)
