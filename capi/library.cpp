// Library-wide entry points: versions, statuses, errors, logging.
#include <mutex>
#include <string>

#include <ATen/Parallel.h>

#include "diffuse.h"
#include "log/log.h"
#include "status.h"
#include "util/device.h"

namespace diffuse::capi {

thread_local std::string last_error;  // diffuse_last_error()

namespace {

// The length of the UTF-8 sequence at s[i] (1 to 4), or 0 when it is not well-formed (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  if (b < 0x80) return 1;
  size_t n;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) n = 2;
  else if (b == 0xE0) n = 3, low = 0xA0;
  else if (b == 0xED) n = 3, high = 0x9F;
  else if (b >= 0xE1 && b <= 0xEF) n = 3;
  else if (b == 0xF0) n = 4, low = 0x90;
  else if (b >= 0xF1 && b <= 0xF3) n = 4;
  else if (b == 0xF4) n = 4, high = 0x8F;
  else return 0;
  if (i + n > s.size() || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

// Hosts decode messages as UTF-8 (Java, C#, Go, Rust): bytes that are not (a path in another encoding)
// become \xNN escapes.
std::string valid_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      static const char kHex[] = "0123456789ABCDEF";
      const auto b = static_cast<unsigned char>(s[i++]);
      out += {'\\', 'x', kHex[b >> 4], kHex[b & 15]};
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace

diffuse_status set_error(diffuse_status status, const std::string& message) {
  last_error = valid_utf8(message);
  return status;
}

// ErrorCode carries diffuse_status's values (util/error.h); these pin that.
static_assert(static_cast<int>(ErrorCode::kInvalidArgument) == DIFFUSE_E_INVALID_ARGUMENT);
static_assert(static_cast<int>(ErrorCode::kInvalidConfig) == DIFFUSE_E_INVALID_CONFIG);
static_assert(static_cast<int>(ErrorCode::kIo) == DIFFUSE_E_IO);
static_assert(static_cast<int>(ErrorCode::kCorruptFile) == DIFFUSE_E_CORRUPT_FILE);
static_assert(static_cast<int>(ErrorCode::kOutOfMemory) == DIFFUSE_E_OUT_OF_MEMORY);
static_assert(static_cast<int>(ErrorCode::kDeviceUnavailable) == DIFFUSE_E_DEVICE_UNAVAILABLE);
static_assert(static_cast<int>(ErrorCode::kCancelled) == DIFFUSE_E_CANCELLED);
static_assert(static_cast<int>(ErrorCode::kBusy) == DIFFUSE_E_BUSY);
static_assert(static_cast<int>(ErrorCode::kNotFound) == DIFFUSE_E_NOT_FOUND);
static_assert(static_cast<int>(ErrorCode::kInternal) == DIFFUSE_E_INTERNAL);
static_assert(static_cast<int>(ErrorCode::kDiverged) == DIFFUSE_E_DIVERGED);
static_assert(static_cast<int>(ErrorCode::kPeerLost) == DIFFUSE_E_PEER_LOST);
static_assert(kLastErrorCode == DIFFUSE_E_PEER_LOST);

diffuse_status to_status(ErrorCode code) { return static_cast<diffuse_status>(code); }

}  // namespace diffuse::capi

using diffuse::capi::set_error;

extern "C" {

const char* diffuse_version(void) { return DIFFUSE_VERSION_STRING; }

int diffuse_version_number(void) { return DIFFUSE_VERSION_NUMBER; }

int diffuse_abi_version(void) { return DIFFUSE_ABI_VERSION; }

const char* diffuse_status_string(diffuse_status status) {
  const int value = diffuse::capi::enum_value(status);
  if (value == DIFFUSE_OK) return "ok";
  if (value < 1 || value > diffuse::kLastErrorCode) return "unknown status";
  return diffuse::error_code_name(static_cast<diffuse::ErrorCode>(value));
}

const char* diffuse_last_error(void) { return diffuse::capi::last_error.c_str(); }

diffuse_status diffuse_log_set_level(diffuse_log_level level) {
  return diffuse::capi::guarded([&] {
    const int value = diffuse::capi::enum_value(level);
    if (value < DIFFUSE_LOG_TRACE || value > DIFFUSE_LOG_OFF) {
      return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_log_set_level: level " + std::to_string(value) +
                                                       " is not a diffuse_log_level (0..5)");
    }
    diffuse::set_log_level(static_cast<diffuse::LogLevel>(value));
    return DIFFUSE_OK;
  });
}

}  // extern "C"

extern "C" {

diffuse_status diffuse_log_to_file(const char* path) {
  static std::mutex mutex;
  static std::string current;
  return diffuse::capi::guarded([&] {
    std::lock_guard<std::mutex> lock(mutex);
    if (!current.empty()) diffuse::remove_log_file(current);
    current.clear();
    if (path && *path) {
      diffuse::add_log_file(path);
      current = path;
    }
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_log_set_callback(diffuse_log_callback callback, void* user) {
  return diffuse::capi::guarded([&] {
    if (!callback) {
      diffuse::set_log_callback(nullptr);
    } else {
      diffuse::set_log_callback([callback, user](diffuse::LogLevel level, std::string_view message) {
        const std::string text(message);  // NUL-terminated for the host
        callback(user, static_cast<diffuse_log_level>(level), text.c_str());
      });
    }
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_set_num_threads(int n) {
  if (n < 1) return set_error(DIFFUSE_E_INVALID_ARGUMENT, "diffuse_set_num_threads: " + std::to_string(n) + " < 1");
  return diffuse::capi::guarded([&] {
    at::set_num_threads(n);
    return DIFFUSE_OK;
  });
}

diffuse_status diffuse_device_available(const char* device, int* available) {
  DIFFUSE_REQUIRE_ARG("diffuse_device_available", device);
  DIFFUSE_REQUIRE_ARG("diffuse_device_available", available);
  *available = 0;
  return diffuse::capi::guarded([&] {
    *available = diffuse::device_available(diffuse::parse_device(device, "diffuse_device_available")) ? 1 : 0;
    return DIFFUSE_OK;
  });
}

}  // extern "C"
