// Peak memory of a training or sampling process, for stats.jsonl and the benchmarks.
#pragma once

#include <cstdint>

#include <c10/core/Device.h>

namespace diffuse {

// The largest resident set of this process so far, in bytes (getrusage).
int64_t peak_host_memory_bytes();

// The most bytes LibTorch's CUDA caching allocator has had allocated on `device` at once (what
// torch.cuda.max_memory_allocated reports); 0 for the CPU and in builds without CUDA.
int64_t peak_device_memory_bytes(const c10::Device& device);

}  // namespace diffuse
