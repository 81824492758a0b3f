#include "util/device_memory.h"

#include <sys/resource.h>

#ifdef DIFFUSE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace diffuse {

int64_t peak_host_memory_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

int64_t peak_device_memory_bytes(const c10::Device& device) {
#ifdef DIFFUSE_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
  }
#endif
  (void)device;
  return 0;
}

}  // namespace diffuse
