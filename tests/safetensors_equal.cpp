// safetensors_equal A B [--ignore NAME]...: exit 0 when both files hold the same tensors (names,
// dtypes, shapes, bits) and metadata, except the ignored names; else prints the first difference.
#include <cstdio>
#include <set>
#include <string>

#include <ATen/ATen.h>

#include "io/safetensors.h"
#include "util/error.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: safetensors_equal A B [--ignore NAME]...\n");
    return 2;
  }
  std::set<std::string> ignored;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--ignore") ignored.insert(argv[i + 1]);
  }
  try {
    const auto a = diffuse::SafetensorsFile::open(argv[1]);
    const auto b = diffuse::SafetensorsFile::open(argv[2]);
    if (a.metadata() != b.metadata()) {
      std::printf("metadata differs\n");
      return 1;
    }
    const auto ta = a.read_all(), tb = b.read_all();
    for (const auto& [name, tensor] : ta) {
      if (ignored.count(name)) continue;
      const auto other = tb.find(name);
      if (other == tb.end()) {
        std::printf("%s: only in %s\n", name.c_str(), argv[1]);
        return 1;
      }
      if (tensor.scalar_type() != other->second.scalar_type() || !tensor.sizes().equals(other->second.sizes()) ||
          !at::equal(tensor, other->second)) {
        std::printf("%s: differs\n", name.c_str());
        return 1;
      }
    }
    for (const auto& [name, tensor] : tb) {
      if (!ignored.count(name) && !ta.count(name)) {
        std::printf("%s: only in %s\n", name.c_str(), argv[2]);
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "safetensors_equal: %s\n", e.what());
    return 2;
  }
  return 0;
}
