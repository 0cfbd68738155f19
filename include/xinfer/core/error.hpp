#pragma once
// Errors: every failure a user can cause (bad file, bad shape, unsupported op) is an xinfer::Error (or, in builds
// without exceptions, a call of the error handler).
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

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

// Hosts compiled without exceptions (-fno-exceptions) define XINFER_NO_EXCEPTIONS. Every error then goes to the
// error handler instead of a throw: the handler may log, flush and end the process (exit, abort, a crash report),
// but it cannot resume xinfer, so it must not return; if it does, std::abort() follows. Without a handler the
// message goes to stderr before the abort. Limits: an error is always fatal (a bad file cannot be refused and the
// program go on); messages lose the context an outer layer would have added (the file name around a node's
// error); an import stops at the first unsupported node instead of listing them all; and errors raised inside the
// standard library and nlohmann::json (define JSON_NOEXCEPTION too) end in their own abort.
using ErrorHandler = void (*)(ErrorCode code, const char* message);

namespace detail {
inline ErrorHandler& error_handler_slot() {
    static ErrorHandler handler = nullptr;
    return handler;
}

template <class... Parts>
std::string concat(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

[[noreturn]] inline void raise(ErrorCode code, const std::string& message) {
#if defined(XINFER_NO_EXCEPTIONS)
    if (ErrorHandler handler = error_handler_slot()) handler(code, message.c_str());
    else std::fprintf(stderr, "xinfer error (%s): %s\n", to_string(code), message.c_str());
    std::abort();
#else
    throw Error(code, message);
#endif
}
}  // namespace detail

// Sets the handler of XINFER_NO_EXCEPTIONS builds (returns the previous one). Set it once, before using xinfer
// from several threads. Builds with exceptions ignore it.
inline ErrorHandler set_error_handler(ErrorHandler handler) {
    ErrorHandler previous = detail::error_handler_slot();
    detail::error_handler_slot() = handler;
    return previous;
}

}  // namespace xinfer

// Raises xinfer::Error(code, message) where message is the streamed concatenation of the remaining arguments.
#define XINFER_THROW(code, ...) ::xinfer::detail::raise((code), ::xinfer::detail::concat(__VA_ARGS__))

#define XINFER_CHECK(cond, code, ...)          \
    do {                                       \
        if (!(cond)) XINFER_THROW(code, __VA_ARGS__); \
    } while (0)

// try / catch that compile away under XINFER_NO_EXCEPTIONS, where nothing is ever thrown: the catch block is kept
// (so it still compiles) but never entered.   XINFER_TRY { ... } XINFER_CATCH(const Error&, e) { ... }
#if defined(XINFER_NO_EXCEPTIONS)
#define XINFER_TRY if (true)
#define XINFER_CATCH(type, name)                                                                 \
    else if (std::remove_reference_t<type>* name##_never_set = nullptr; name##_never_set != nullptr) \
        for ([[maybe_unused]] type name = *name##_never_set;;)
#define XINFER_RETHROW std::abort()
#else
#define XINFER_TRY try
#define XINFER_CATCH(type, name) catch ([[maybe_unused]] type name)
#define XINFER_RETHROW throw
#endif
