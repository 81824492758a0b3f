// How many CPUs this process may use: the CPUs its affinity mask allows (taskset, Slurm's and
// Kubernetes' CPU binding, docker --cpuset-cpus), capped by its cgroup's CPU quota (docker --cpus,
// Kubernetes CPU limits). std::thread::hardware_concurrency counts the machine's CPUs instead: a
// process given 4 of 64 would start 64 threads and lose most of its time to switching between them.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace diffuse {

// The CPUs the calling thread may run on, at least 1, at most the cgroup quota rounded up.
int usable_cpu_count();

// A file's text, or nullopt when it cannot be read.
using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;

// The CPU quota (CPUs' worth of time per period, e.g. 1.5) of the cgroups whose membership
// `proc_self_cgroup` (the text of /proc/self/cgroup) lists, read through `read_file`: the least over
// the process's cgroup and its ancestors, in cgroup v2 (cpu.max under /sys/fs/cgroup) and in v1's cpu
// controller (cpu.cfs_quota_us and cpu.cfs_period_us under /sys/fs/cgroup/cpu or cpu,cpuacct).
// nullopt when none sets a quota.
std::optional<double> cgroup_cpu_quota(const std::string& proc_self_cgroup, const ReadFile& read_file);

}  // namespace diffuse
