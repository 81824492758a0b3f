// Errors raised inside the core. Every failure the library can report carries one of these codes;
// the C API maps them one-to-one onto diffuse_status.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/core.h>

namespace diffuse {

enum class ErrorCode {
  kInvalidArgument = 1,  // a caller passed a bad value (NULL, wrong shape, out of range)
  kInvalidConfig,        // a config message is malformed, out of range or inconsistent
  kIo,                   // a file could not be opened, read, written or renamed
  kCorruptFile,          // a file exists but its content is malformed or truncated
  kOutOfMemory,
  kDeviceUnavailable,    // e.g. cuda requested but not present
  kCancelled,
  kBusy,
  kNotFound,             // a named thing (tensor, file, field) does not exist
  kDiverged,             // training produced non-finite losses for too many consecutive steps
  kInternal,
};

// Human-readable name of a code ("invalid config", "corrupt file", ...).
const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// Throws Error(code, formatted message).
template <typename... Args>
[[noreturn]] void fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(code, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace diffuse
