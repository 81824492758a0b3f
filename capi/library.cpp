// Library-wide entry points: versions, statuses, errors, logging.
#include <mutex>
#include <string>

#include <ATen/Parallel.h>
#include <c10/core/Device.h>
#include <torch/cuda.h>

#include "diffuse.h"
#include "log/log.h"
#include "status.h"

namespace diffuse::capi {

thread_local std::string last_error;  // diffuse_last_error()

diffuse_status set_error(diffuse_status status, const std::string& message) {
  last_error = message;
  return status;
}

diffuse_status to_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return DIFFUSE_E_INVALID_ARGUMENT;
    case ErrorCode::kInvalidConfig: return DIFFUSE_E_INVALID_CONFIG;
    case ErrorCode::kIo: return DIFFUSE_E_IO;
    case ErrorCode::kCorruptFile: return DIFFUSE_E_CORRUPT_FILE;
    case ErrorCode::kOutOfMemory: return DIFFUSE_E_OUT_OF_MEMORY;
    case ErrorCode::kDeviceUnavailable: return DIFFUSE_E_DEVICE_UNAVAILABLE;
    case ErrorCode::kCancelled: return DIFFUSE_E_CANCELLED;
    case ErrorCode::kBusy: return DIFFUSE_E_BUSY;
    case ErrorCode::kNotFound: return DIFFUSE_E_NOT_FOUND;
    case ErrorCode::kInternal: return DIFFUSE_E_INTERNAL;
    case ErrorCode::kDiverged: return DIFFUSE_E_DIVERGED;
  }
  return DIFFUSE_E_INTERNAL;
}

}  // namespace diffuse::capi

using diffuse::capi::set_error;

extern "C" {

const char* diffuse_version(void) { return DIFFUSE_VERSION_STRING; }

int diffuse_version_number(void) { return DIFFUSE_VERSION_NUMBER; }

int diffuse_abi_version(void) { return DIFFUSE_ABI_VERSION; }

const char* diffuse_status_string(diffuse_status status) {
  switch (diffuse::capi::enum_value(status)) {
    case DIFFUSE_OK: return "ok";
    case DIFFUSE_E_INVALID_ARGUMENT: return "invalid argument";
    case DIFFUSE_E_INVALID_CONFIG: return "invalid config";
    case DIFFUSE_E_IO: return "I/O error";
    case DIFFUSE_E_CORRUPT_FILE: return "corrupt file";
    case DIFFUSE_E_OUT_OF_MEMORY: return "out of memory";
    case DIFFUSE_E_DEVICE_UNAVAILABLE: return "device unavailable";
    case DIFFUSE_E_CANCELLED: return "cancelled";
    case DIFFUSE_E_BUSY: return "busy";
    case DIFFUSE_E_NOT_FOUND: return "not found";
    case DIFFUSE_E_INTERNAL: return "internal error";
    case DIFFUSE_E_DIVERGED: return "training diverged";
  }
  return "unknown status";
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
    c10::Device d(c10::kCPU);
    try {
      d = c10::Device(device);
    } catch (const std::exception&) {
      return set_error(DIFFUSE_E_INVALID_ARGUMENT,
                       std::string("diffuse_device_available: \"") + device + "\" is not cpu, cuda or cuda:N");
    }
    if (d.is_cpu()) {
      *available = 1;
    } else if (d.is_cuda()) {
      const int64_t count = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
      *available = (d.has_index() ? d.index() : 0) < count ? 1 : 0;
    }
    return DIFFUSE_OK;
  });
}

}  // extern "C"
