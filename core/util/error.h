// Errors raised inside the core. Every failure the library can report carries one of these codes;
// the C API returns them as diffuse_status.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/core.h>

namespace diffuse {

// The values are diffuse_status's (capi/diffuse.h), which the C API returns unchanged.
enum class ErrorCode {
  kInvalidArgument = 1,   // a caller passed a bad value (NULL, wrong shape, out of range)
  kInvalidConfig = 2,     // a config message is malformed, out of range or inconsistent
  kIo = 3,                // a file could not be opened, read, written or renamed
  kCorruptFile = 4,       // a file exists but its content is malformed or truncated
  kOutOfMemory = 5,
  kDeviceUnavailable = 6, // e.g. cuda requested but not present
  kCancelled = 7,
  kBusy = 8,
  kNotFound = 9,          // a named thing (tensor, file, field) does not exist
  kInternal = 10,
  kDiverged = 11,         // training produced non-finite losses for too many consecutive steps
  kPeerLost = 12,         // a process of a data-parallel run died or did not answer in time
};
constexpr int kLastErrorCode = 12;

// Short English name of a code ("invalid config", "corrupt file", ...): the one table of status
// names, also behind diffuse_status_string.
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
