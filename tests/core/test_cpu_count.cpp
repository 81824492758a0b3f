// util/cpu_count: the CPUs a process may use, from its affinity mask and its cgroups' CPU quotas.
#include <sched.h>

#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "util/cpu_count.h"

namespace diffuse {
namespace {

// A file system of the given files only.
ReadFile files(std::map<std::string, std::string> contents) {
  return [contents](const std::string& path) -> std::optional<std::string> {
    const auto found = contents.find(path);
    if (found == contents.end()) return std::nullopt;
    return found->second;
  };
}

TEST(CgroupCpuQuota, ReadsCgroupV2sCpuMaxAlongThePath) {
  const std::string cgroup = "0::/kubepods/pod1/c2\n";
  // A pod's limit (2.5 CPUs) above a container's looser one (4): the least of them holds.
  const auto quota = cgroup_cpu_quota(cgroup, files({{"/sys/fs/cgroup/cpu.max", "max 100000\n"},
                                                     {"/sys/fs/cgroup/kubepods/pod1/cpu.max", "250000 100000\n"},
                                                     {"/sys/fs/cgroup/kubepods/pod1/c2/cpu.max", "400000 100000\n"}}));
  ASSERT_TRUE(quota);
  EXPECT_DOUBLE_EQ(*quota, 2.5);
  // A container's own namespace: the path is "/" and its limit is at the mount's root.
  const auto docker = cgroup_cpu_quota("0::/\n", files({{"/sys/fs/cgroup/cpu.max", "150000 100000"}}));
  ASSERT_TRUE(docker);
  EXPECT_DOUBLE_EQ(*docker, 1.5);
  EXPECT_FALSE(cgroup_cpu_quota(cgroup, files({{"/sys/fs/cgroup/kubepods/pod1/c2/cpu.max", "max 100000"}})));
}

TEST(CgroupCpuQuota, ReadsCgroupV1sCpuController) {
  // Docker on cgroup v1: the host's path in /proc/self/cgroup, the container's cgroup at the mount.
  const std::string cgroup =
      "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n2:cpuset:/docker/abc\n0::/system.slice/docker.service\n";
  const auto quota = cgroup_cpu_quota(cgroup, files({{"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "300000\n"},
                                                     {"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n"}}));
  ASSERT_TRUE(quota);
  EXPECT_DOUBLE_EQ(*quota, 3.0);
  // A host's nested cgroup under /sys/fs/cgroup/cpu; -1 is no quota.
  const auto nested = cgroup_cpu_quota("3:cpu:/batch/job7\n",
                                       files({{"/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1"},
                                              {"/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000"},
                                              {"/sys/fs/cgroup/cpu/batch/job7/cpu.cfs_quota_us", "50000"},
                                              {"/sys/fs/cgroup/cpu/batch/job7/cpu.cfs_period_us", "100000"}}));
  ASSERT_TRUE(nested);
  EXPECT_DOUBLE_EQ(*nested, 0.5);
  // cpuacct alone is not the cpu controller.
  EXPECT_FALSE(cgroup_cpu_quota("2:cpuacct:/\n", files({{"/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "100000"},
                                                       {"/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000"}})));
}

TEST(CgroupCpuQuota, NoQuotaWhereTheFilesSayNoneOrCannotBeRead) {
  EXPECT_FALSE(cgroup_cpu_quota("", files({})));
  EXPECT_FALSE(cgroup_cpu_quota("0::/\n", files({})));
  EXPECT_FALSE(cgroup_cpu_quota("0::/\n", files({{"/sys/fs/cgroup/cpu.max", "max 100000"}})));
  EXPECT_FALSE(cgroup_cpu_quota("0::/\n", files({{"/sys/fs/cgroup/cpu.max", "garbage"}})));
  EXPECT_FALSE(cgroup_cpu_quota("0::/\n", files({{"/sys/fs/cgroup/cpu.max", "100000 0"}})));
  EXPECT_FALSE(cgroup_cpu_quota("not a cgroup line\n", files({{"/sys/fs/cgroup/cpu.max", "100000 100000"}})));
  EXPECT_FALSE(cgroup_cpu_quota("4:cpu:/\n", files({{"/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "100000"}})));
}

TEST(UsableCpuCount, FollowsTheAffinityMask) {
  cpu_set_t all;
  CPU_ZERO(&all);
  ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
  EXPECT_GE(usable_cpu_count(), 1);
  EXPECT_LE(usable_cpu_count(), CPU_COUNT(&all));
  // A thread bound to one CPU (as taskset or a launcher's binding would) may use one.
  int bound = 0;
  std::thread([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &all)) {
        CPU_SET(cpu, &one);
        break;
      }
    }
    if (sched_setaffinity(0, sizeof one, &one) == 0) bound = usable_cpu_count();
  }).join();
  EXPECT_EQ(bound, 1);
}

}  // namespace
}  // namespace diffuse
