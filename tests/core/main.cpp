#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>
#include <unistd.h>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "log/log.h"
#include "util/cpu_count.h"
#include "util/seed.h"
#include "tensor_compare.h"
#include "test_util.h"

namespace diffuse::test {

namespace {

// The directories make_temp_dir made: removed when every test passed, kept for a look otherwise.
std::vector<std::filesystem::path>& temp_dirs() {
  static std::vector<std::filesystem::path> dirs;
  return dirs;
}

}  // namespace

std::string make_temp_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("diffuse-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
                                              std::to_string(temp_dirs().size()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  temp_dirs().push_back(dir);
  return dir.string();
}

namespace {

// Gives each test the same process-wide LibTorch state whichever tests ran before it (alone, filtered or
// shuffled): the global generators (CPU and CUDA) seeded from the test's full name, for what it draws
// without a generator of its own (a network's initial weights, an at::randn); and the intra-op thread
// count, which a trainer sets (run.threads) and which decides the CPU's summation order.
class SameStartForEachTest : public ::testing::EmptyTestEventListener {
 public:
  explicit SameStartForEachTest(int threads) : threads_(threads) {}

 private:
  void OnTestStart(const ::testing::TestInfo& info) override {
    uint64_t seed = 0;
    for (const char* part : {info.test_suite_name(), ".", info.name()}) {
      for (const char* c = part; *c; ++c) seed = diffuse::mix_seed(seed ^ static_cast<unsigned char>(*c));
    }
    at::manual_seed(seed);
    at::set_num_threads(threads_);
  }
  int threads_;
};

}  // namespace

}  // namespace diffuse::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Progress lines would bury the test report; DIFFUSE_LOG_LEVEL=info shows them.
  if (!std::getenv("DIFFUSE_LOG_LEVEL")) diffuse::set_log_level(diffuse::LogLevel::kWarn);
  // Every test starts with one intra-op thread per usable CPU (LibTorch may start with one), or
  // $DIFFUSE_TEST_THREADS: bench/gpu/device-check.sh runs shards of the suite side by side.
  int threads = diffuse::usable_cpu_count();
  if (const char* env_threads = std::getenv("DIFFUSE_TEST_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env_threads, &end, 10);
    if (end == env_threads || *end != '\0' || n < 1 || n > 1024) {
      std::fprintf(stderr, "DIFFUSE_TEST_THREADS must be a thread count from 1 to 1024, not '%s'\n", env_threads);
      return 2;
    }
    threads = static_cast<int>(n);
  }
  ::testing::UnitTest::GetInstance()->listeners().Append(new diffuse::test::SameStartForEachTest(threads));
  const int result = RUN_ALL_TESTS();
  if (!diffuse::test::parity_report().empty()) {
    std::printf("parity against the reference tensors (worst per group):\n");
    for (const auto& [key, error] : diffuse::test::parity_report()) std::printf("  %-32s %.3g\n", key.c_str(), error);
  }
  if (result == 0) {
    std::error_code ignored;
    for (const auto& dir : diffuse::test::temp_dirs()) std::filesystem::remove_all(dir, ignored);
  } else if (!diffuse::test::temp_dirs().empty()) {
    std::printf("kept the tests' directories: %s/diffuse-test-*-%d-*\n",
                std::filesystem::temp_directory_path().c_str(), static_cast<int>(::getpid()));
  }
  return result;
}
