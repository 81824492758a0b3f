#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "log/log.h"
#include "tensor_compare.h"
#include "test_util.h"

namespace diffuse::test {

std::string make_temp_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() /
                 ("diffuse-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

}  // namespace diffuse::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // LibTorch starts with one intra-op thread; use the machine.
  // Progress lines would bury the test report; DIFFUSE_LOG_LEVEL=info shows them.
  if (!std::getenv("DIFFUSE_LOG_LEVEL")) diffuse::set_log_level(diffuse::LogLevel::kWarn);
  at::set_num_threads(static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN))));
  const int result = RUN_ALL_TESTS();
  if (!diffuse::test::parity_report().empty()) {
    std::printf("parity against the reference tensors (worst per group):\n");
    for (const auto& [key, error] : diffuse::test::parity_report()) std::printf("  %-32s %.3g\n", key.c_str(), error);
  }
  return result;
}
