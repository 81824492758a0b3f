// Independent CPU jobs at once, each on its own thread with single-threaded tensor math. For a
// network of many small ops, k such jobs over k parts of a batch beat one call whose every op is
// split over k OpenMP threads: no fork/join and no spinning between ops (bench/sampling/README.md
// has the measured gain).
#pragma once

#include <cstdint>
#include <functional>

namespace diffuse {

// Runs job(0) … job(count − 1) on `count` threads and waits for all of them; then rethrows the first
// exception a job threw. LibTorch's intra-op thread count is process-wide: it is 1 while any such
// call runs and is restored when the last one ends (a thread that starts tensor math meanwhile also
// gets 1). count = 1 runs job(0) on the calling thread, unchanged.
void run_single_threaded_jobs(int64_t count, const std::function<void(int64_t)>& job);

// How many such jobs use the CPUs: one per intra-op thread, but no more than the CPUs the process may
// use (LibTorch's default thread count follows the affinity mask but not a cgroup's CPU quota).
int64_t default_job_count();

// Part k of n items split into `parts` parts as equal as can be (the first n % parts get one more).
struct PartRange {
  int64_t first, count;
};
PartRange part_range(int64_t n, int64_t parts, int64_t k);

}  // namespace diffuse
