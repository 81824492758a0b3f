// safetensors_equal A B [--ignore NAME]... [--all] [--tolerance T]: exit 0 when both files hold the same
// tensors (names, dtypes, shapes, bits) and metadata, except the ignored names (of tensors or metadata
// keys); else prints the first difference, or with --all every differing tensor and the worst relative
// L2 difference of them (for runs that are equal only to rounding, e.g. on a GPU with nondeterministic kernels). --tolerance T
// accepts tensors within relative L2 T and prints the worst one and that of all floating-point
// tensors together (data-parallel runs, which sum in another order).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include <ATen/ATen.h>

#include "io/safetensors.h"
#include "util/error.h"

namespace {

// ||a - b|| / ||b|| in float64 (0 when both are zero; non-numeric tensors count 1 when unequal).
double relative_l2(const at::Tensor& a, const at::Tensor& b) {
  if (!a.is_floating_point() && !a.is_complex()) return at::equal(a, b) ? 0.0 : 1.0;
  const at::Tensor da = a.to(at::kDouble), db = b.to(at::kDouble);
  const double denominator = db.norm().item<double>();
  const double numerator = (da - db).norm().item<double>();
  return denominator > 0 ? numerator / denominator : numerator;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: safetensors_equal A B [--ignore NAME]... [--all] [--tolerance T]\n");
    return 2;
  }
  std::set<std::string> ignored;
  bool all = false;
  double tolerance = -1;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--all") {
      all = true;
    } else if (arg == "--tolerance" && i + 1 < argc) {
      tolerance = std::atof(argv[++i]);
      all = true;
    } else if (arg == "--ignore" && i + 1 < argc) {
      ignored.insert(argv[++i]);
    } else {
      std::fprintf(stderr, "safetensors_equal: unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  try {
    const auto a = diffuse::SafetensorsFile::open(argv[1]);
    const auto b = diffuse::SafetensorsFile::open(argv[2]);
    auto metadata = [&](const diffuse::SafetensorsFile& f) {
      auto m = f.metadata();
      for (const std::string& name : ignored) m.erase(name);
      return m;
    };
    if (metadata(a) != metadata(b)) {
      std::printf("metadata differs\n");
      return 1;
    }
    const auto ta = a.read_all(), tb = b.read_all();
    int differing = 0;
    double worst = 0, difference_sq = 0, norm_sq = 0;
    std::string worst_name;
    for (const auto& [name, tensor] : ta) {
      if (ignored.count(name)) continue;
      const auto other = tb.find(name);
      if (other == tb.end()) {
        std::printf("%s: only in %s\n", name.c_str(), argv[1]);
        return 1;
      }
      if (tensor.scalar_type() != other->second.scalar_type() || !tensor.sizes().equals(other->second.sizes())) {
        std::printf("%s: dtype or shape differs\n", name.c_str());
        return 1;
      }
      if (tensor.is_floating_point()) {
        const at::Tensor da = tensor.to(at::kDouble), db = other->second.to(at::kDouble);
        difference_sq += (da - db).square().sum().item<double>();
        norm_sq += db.square().sum().item<double>();
      }
      if (!at::equal(tensor, other->second)) {
        const double error = relative_l2(tensor, other->second);
        if (tolerance < 0) std::printf("%s: differs (relative L2 %.3g)\n", name.c_str(), error);
        if (!all) return 1;
        ++differing;
        if (error >= worst) worst = error, worst_name = name;
      }
    }
    for (const auto& [name, tensor] : tb) {
      if (!ignored.count(name) && !ta.count(name)) {
        std::printf("%s: only in %s\n", name.c_str(), argv[2]);
        return 1;
      }
    }
    if (tolerance >= 0) {
      std::printf("%d of %zu tensors differ; worst relative L2 %.3g (%s); all together %.3g; tolerance %.3g\n",
                  differing, ta.size(), worst, worst_name.c_str(), norm_sq > 0 ? std::sqrt(difference_sq / norm_sq) : 0.0,
                  tolerance);
      return worst <= tolerance ? 0 : 1;
    }
    if (differing) {
      std::printf("%d of %zu tensors differ; worst relative L2 %.3g (%s)\n", differing, ta.size(), worst,
                  worst_name.c_str());
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "safetensors_equal: %s\n", e.what());
    return 2;
  }
  return 0;
}
