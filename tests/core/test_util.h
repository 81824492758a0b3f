// Helpers shared by the core tests.
#pragma once

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace diffuse::test {

// ../shared beside the checkout (CI layout), or $DIFFUSE_SHARED_DIR.
inline std::string shared_dir() {
  if (const char* env = std::getenv("DIFFUSE_SHARED_DIR")) return env;
  return std::string(DIFFUSE_SOURCE_DIR) + "/../shared";
}

inline std::string golden_path(const std::string& name) { return shared_dir() + "/golden/" + name; }

// A fresh, empty directory under the system temp dir, removed by the caller's TearDown if wanted.
std::string make_temp_dir(const std::string& tag);

}  // namespace diffuse::test
