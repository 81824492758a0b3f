#include "util/cpu_count.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace diffuse {
namespace {

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> parse_number(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  return value;
}

// `root` + "/" + each ancestor of `path` ("/a/b": root, root/a, root/a/b).
std::vector<std::string> cgroup_dirs(const std::string& root, const std::string& path) {
  std::vector<std::string> dirs{root};
  std::string dir = root;
  std::istringstream parts(path);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty()) continue;
    dir += "/" + part;
    dirs.push_back(dir);
  }
  return dirs;
}

// cgroup v2's cpu.max: "max PERIOD" (no quota) or "QUOTA PERIOD".
std::optional<double> v2_quota(const std::string& dir, const ReadFile& read_file) {
  const std::optional<std::string> text = read_file(dir + "/cpu.max");
  if (!text) return std::nullopt;
  std::istringstream fields(*text);
  std::string quota, period;
  fields >> quota >> period;
  const std::optional<double> q = parse_number(quota), p = parse_number(period);
  if (quota == "max" || !q || !p || *q <= 0 || *p <= 0) return std::nullopt;
  return *q / *p;
}

// cgroup v1's cpu controller: cpu.cfs_quota_us (-1: no quota) over cpu.cfs_period_us.
std::optional<double> v1_quota(const std::string& dir, const ReadFile& read_file) {
  const std::optional<std::string> quota = read_file(dir + "/cpu.cfs_quota_us");
  const std::optional<std::string> period = read_file(dir + "/cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  const std::optional<double> q = parse_number(*quota), p = parse_number(*period);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;
  return *q / *p;
}

}  // namespace

std::optional<double> cgroup_cpu_quota(const std::string& proc_self_cgroup, const ReadFile& read_file) {
  std::optional<double> least;
  const auto consider = [&](const std::optional<double>& quota) {
    if (quota && (!least || *quota < *least)) least = quota;
  };
  // Lines "ID:CONTROLLERS:PATH"; cgroup v2's is "0::PATH". Inside a container the path may be the
  // host's while the mount shows the container's own cgroup at its root: the root is read too.
  std::istringstream lines(proc_self_cgroup);
  for (std::string line; std::getline(lines, line);) {
    const size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1), path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      for (const std::string& dir : cgroup_dirs("/sys/fs/cgroup", path)) consider(v2_quota(dir, read_file));
      continue;
    }
    std::istringstream names(controllers);
    bool cpu = false;
    for (std::string name; std::getline(names, name, ',');) cpu = cpu || name == "cpu";
    if (!cpu) continue;
    for (const char* root : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      for (const std::string& dir : cgroup_dirs(root, path)) consider(v1_quota(dir, read_file));
    }
  }
  return least;
}

int usable_cpu_count() {
  int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) cpus = std::max(1, CPU_COUNT(&mask));
  if (const std::optional<std::string> cgroups = read_text_file("/proc/self/cgroup")) {
    if (const std::optional<double> quota = cgroup_cpu_quota(*cgroups, read_text_file)) {
      cpus = std::min(cpus, std::max(1, static_cast<int>(std::ceil(*quota))));
    }
  }
  return cpus;
}

}  // namespace diffuse
