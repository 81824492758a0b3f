// safetensors_equal A B [--ignore NAME]... [--all] [--tolerance T]: exit 0 when both files hold the same
// tensors (names, dtypes, shapes, bits) and metadata, except the ignored names (of tensors or metadata
// keys); else prints the first difference, or with --all every differing tensor and the worst relative
// L2 difference of them (for runs that are equal only to rounding, e.g. on a GPU with nondeterministic kernels). --tolerance T
// accepts tensors within relative L2 T and prints the worst one and that of all floating-point
// tensors together (data-parallel runs, which sum in another order).
// A and B may both be directories: then every *.safetensors of A is compared with the file of its name
// in B (one missing there is a difference), and the last line says how many were compared. One process
// for a whole run directory: each start loads LibTorch (about a second here).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

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

struct Options {
  std::set<std::string> ignored;
  bool all = false;
  double tolerance = -1;
};

// 0 when the files are equal (within the tolerance), 1 when not; prints what differs, each line
// prefixed with `label` (the file's name when comparing directories).
int compare_files(const std::string& path_a, const std::string& path_b, const Options& o, const std::string& label) {
  const auto a = diffuse::SafetensorsFile::open(path_a);
  const auto b = diffuse::SafetensorsFile::open(path_b);
  auto metadata = [&](const diffuse::SafetensorsFile& f) {
    auto m = f.metadata();
    for (const std::string& name : o.ignored) m.erase(name);
    return m;
  };
  if (metadata(a) != metadata(b)) {
    std::printf("%smetadata differs\n", label.c_str());
    return 1;
  }
  const auto ta = a.read_all(), tb = b.read_all();
  int differing = 0;
  double worst = 0, difference_sq = 0, norm_sq = 0;
  std::string worst_name;
  for (const auto& [name, tensor] : ta) {
    if (o.ignored.count(name)) continue;
    const auto other = tb.find(name);
    if (other == tb.end()) {
      std::printf("%s%s: only in %s\n", label.c_str(), name.c_str(), path_a.c_str());
      return 1;
    }
    if (tensor.scalar_type() != other->second.scalar_type() || !tensor.sizes().equals(other->second.sizes())) {
      std::printf("%s%s: dtype or shape differs\n", label.c_str(), name.c_str());
      return 1;
    }
    if (tensor.is_floating_point()) {
      const at::Tensor da = tensor.to(at::kDouble), db = other->second.to(at::kDouble);
      difference_sq += (da - db).square().sum().item<double>();
      norm_sq += db.square().sum().item<double>();
    }
    if (!at::equal(tensor, other->second)) {
      const double error = relative_l2(tensor, other->second);
      if (o.tolerance < 0) std::printf("%s%s: differs (relative L2 %.3g)\n", label.c_str(), name.c_str(), error);
      if (!o.all) return 1;
      ++differing;
      if (error >= worst) worst = error, worst_name = name;
    }
  }
  for (const auto& [name, tensor] : tb) {
    if (!o.ignored.count(name) && !ta.count(name)) {
      std::printf("%s%s: only in %s\n", label.c_str(), name.c_str(), path_b.c_str());
      return 1;
    }
  }
  if (o.tolerance >= 0) {
    std::printf("%s%d of %zu tensors differ; worst relative L2 %.3g (%s); all together %.3g; tolerance %.3g\n",
                label.c_str(), differing, ta.size(), worst, worst_name.c_str(),
                norm_sq > 0 ? std::sqrt(difference_sq / norm_sq) : 0.0, o.tolerance);
    return worst <= o.tolerance ? 0 : 1;
  }
  if (differing) {
    std::printf("%s%d of %zu tensors differ; worst relative L2 %.3g (%s)\n", label.c_str(), differing, ta.size(),
                worst, worst_name.c_str());
    return 1;
  }
  return 0;
}

// Every *.safetensors of directory `a` against its namesake in `b`, in name order; all are compared
// (so that a run's every difference shows), the result is the worst.
int compare_directories(const std::string& a, const std::string& b, const Options& o) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(a)) {
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors") names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  int result = 0;
  for (const std::string& name : names) {
    const std::string label = name + ": ";
    if (!fs::exists(fs::path(b) / name)) {
      std::printf("%smissing in %s\n", label.c_str(), b.c_str());
      result = 1;
      continue;
    }
    result = std::max(result, compare_files((fs::path(a) / name).string(), (fs::path(b) / name).string(), o, label));
  }
  std::printf("%zu files compared\n", names.size());
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: safetensors_equal A B [--ignore NAME]... [--all] [--tolerance T]\n");
    return 2;
  }
  Options options;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--all") {
      options.all = true;
    } else if (arg == "--tolerance" && i + 1 < argc) {
      options.tolerance = std::atof(argv[++i]);
      options.all = true;
    } else if (arg == "--ignore" && i + 1 < argc) {
      options.ignored.insert(argv[++i]);
    } else {
      std::fprintf(stderr, "safetensors_equal: unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  try {
    if (std::filesystem::is_directory(argv[1]) && std::filesystem::is_directory(argv[2])) {
      return compare_directories(argv[1], argv[2], options);
    }
    return compare_files(argv[1], argv[2], options, "");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "safetensors_equal: %s\n", e.what());
    return 2;
  }
}
