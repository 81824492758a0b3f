#include "fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>

#include <sanitizer/allocator_interface.h>

#include <atomic>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <google/protobuf/stubs/logging.h>

#include "data/dataset.h"
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

std::string fresh_scratch_dir(const std::string& name) {
  const std::string dir = scratch_dir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
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

namespace {

std::atomic<size_t> g_largest_allocation{0};

void record_allocation(const volatile void*, size_t size) {
  size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (size > seen && !g_largest_allocation.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
}

void ignore_free(const volatile void*) {}

}  // namespace

HostData tiny_host_images() {
  const at::Tensor images = at::randint(0, 256, {16, 8, 8, 1}, at::TensorOptions().dtype(at::kByte));
  std::vector<int64_t> labels(16);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 2);
  HostData host;
  host.train = make_memory_dataset(images.data_ptr<uint8_t>(), 16, 8, 8, 1, labels.data());
  host.validation = host.train;
  return host;
}

void quiet_library() {
  // The largest single allocation of the whole run (LibTorch's start-up included), printed at exit.
  __sanitizer_install_malloc_and_free_hooks(record_allocation, ignore_free);
  std::atexit([] { std::fprintf(stderr, "largest allocation: %zu bytes\n", g_largest_allocation.load()); });
  set_log_level(LogLevel::kOff);
  google::protobuf::SetLogHandler(nullptr);  // its parse errors reach us as exceptions already
  at::set_num_threads(1);
}

}  // namespace diffuse::fuzz
