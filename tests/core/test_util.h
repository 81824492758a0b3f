// Helpers shared by the core tests.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/cuda.h>

namespace diffuse::test {

// ../shared beside the checkout (CI layout), or $DIFFUSE_SHARED_DIR.
inline std::string shared_dir() {
  if (const char* env = std::getenv("DIFFUSE_SHARED_DIR")) return env;
  return std::string(DIFFUSE_SOURCE_DIR) + "/../shared";
}

inline std::string golden_path(const std::string& name) { return shared_dir() + "/golden/" + name; }

// Fashion-MNIST in IDX format, with a trailing slash: $DIFFUSE_FASHION_MNIST, else Debian's
// dataset-fashion-mnist package.
inline std::string fashion_mnist_dir() {
  const char* env = std::getenv("DIFFUSE_FASHION_MNIST");
  return std::string(env && *env ? env : "/usr/share/datasets/fashion-mnist") + "/";
}

// The device of the trainers built from the test fixtures: $DIFFUSE_TEST_DEVICE (e.g. "cuda"), else "cpu".
inline std::string test_device() {
  const char* env = std::getenv("DIFFUSE_TEST_DEVICE");
  return env && *env ? env : "cpu";
}

// "cpu", and "cuda" where a CUDA device is present: the devices of tests that run on each.
inline std::vector<std::string> available_devices() {
  std::vector<std::string> list{"cpu"};
  if (torch::cuda::is_available()) list.push_back("cuda");
  return list;
}

// A fresh, empty directory under the system temp dir; main() removes it when every test passed.
std::string make_temp_dir(const std::string& tag);

}  // namespace diffuse::test
