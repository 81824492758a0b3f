#include "fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>

#include <ATen/Parallel.h>
#include <google/protobuf/stubs/logging.h>

#include "log/log.h"
#include "util/error.h"

namespace diffuse::fuzz {

void expect_clean(const char* what, void (*body)(void*), void* context) {
  try {
    body(context);
  } catch (const Error& e) {
    switch (e.code()) {
      case ErrorCode::kInvalidArgument:
      case ErrorCode::kInvalidConfig:
      case ErrorCode::kIo:
      case ErrorCode::kCorruptFile:
      case ErrorCode::kNotFound:
      case ErrorCode::kDeviceUnavailable:
        if (std::getenv("DIFFUSE_FUZZ_VERBOSE")) std::fprintf(stderr, "%s: %s\n", what, e.what());
        return;
      default:
        std::fprintf(stderr, "%s: error of the wrong kind (%s): %s\n", what, error_code_name(e.code()), e.what());
        std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: an exception that is not a diffuse::Error: %s\n", what, e.what());
    std::abort();
  }
}

const std::string& scratch_dir() {
  static const std::string dir = [] {
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    const std::filesystem::path d = base / ("diffuse-fuzz-" + std::to_string(getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    // Removed at exit; a crash leaves it for inspection.
    static const std::string path = d.string();
    std::atexit([] { std::filesystem::remove_all(path); });
    return d.string();
  }();
  return dir;
}

void clear_dir(const std::string& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(entry.path());
}

std::string write_file(const std::string& name, std::string_view bytes) {
  const std::string path = name.find('/') == std::string::npos ? scratch_dir() + "/" + name : name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write the scratch file %s\n", path.c_str());
    std::abort();
  }
  return path;
}

std::vector<std::string_view> split_parts(const uint8_t* data, size_t size, size_t max_parts) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = rest.find(kPartSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + kPartSeparator.size());
  }
  parts.push_back(rest);
  return parts;
}

void quiet_library() {
  set_log_level(LogLevel::kOff);
  google::protobuf::SetLogHandler(nullptr);  // its parse errors reach us as exceptions already
  at::set_num_threads(1);
}

}  // namespace diffuse::fuzz
