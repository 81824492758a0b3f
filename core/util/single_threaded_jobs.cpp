#include "util/single_threaded_jobs.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>

#include "util/cpu_count.h"

namespace diffuse {
namespace {

// The count to restore, saved by the first of overlapping calls and restored by the last.
std::mutex g_mutex;
int g_active = 0;
int g_saved_threads = 1;

class SingleThreadedScope {
 public:
  SingleThreadedScope() {
    const std::lock_guard<std::mutex> lock(g_mutex);
    if (g_active++ == 0) g_saved_threads = at::get_num_threads();
  }
  ~SingleThreadedScope() {
    const std::lock_guard<std::mutex> lock(g_mutex);
    if (--g_active == 0) at::set_num_threads(g_saved_threads);
  }
  SingleThreadedScope(const SingleThreadedScope&) = delete;
  SingleThreadedScope& operator=(const SingleThreadedScope&) = delete;
};

}  // namespace

void run_single_threaded_jobs(int64_t count, const std::function<void(int64_t)>& job) {
  if (count <= 1) {
    if (count == 1) job(0);
    return;
  }
  const SingleThreadedScope scope;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(count));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    threads.emplace_back([&, k] {
      try {
        // Sets this thread's OpenMP count (and LibTorch's default for new threads) to 1.
        at::set_num_threads(1);
        job(k);
      } catch (...) {
        errors[static_cast<size_t>(k)] = std::current_exception();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

int64_t default_job_count() { return std::min<int64_t>(at::get_num_threads(), usable_cpu_count()); }

PartRange part_range(int64_t n, int64_t parts, int64_t k) {
  const int64_t size = n / parts, extra = n % parts;
  return {k * size + std::min(k, extra), size + (k < extra ? 1 : 0)};
}

}  // namespace diffuse
