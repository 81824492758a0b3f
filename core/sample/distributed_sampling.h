// Sampling spread over the ranks of a data-parallel launch: each rank generates a contiguous share of
// the seeds and every rank gets all images, in seed order (the 50k-image evaluations of the papers).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dist/communicator.h"
#include "nn/precond.h"
#include "sample/sampler.h"

namespace diffuse {

// sample_images over `world` (null: this process alone). Rank r generates seeds
// [r·⌈N/W⌉, (r+1)·⌈N/W⌉) in batches of options.batch_size; when that share is a multiple of the
// batch size the images equal a single process's bit for bit. Every rank must call it with the same
// arguments; returns [N, C, R, R] float32 on the CPU.
at::Tensor sample_images_over_ranks(Precond& net, Precond* guide, const std::vector<uint64_t>& seeds,
                                    const std::vector<int64_t>& labels, const SamplerOptions& options,
                                    Communicator* world);

}  // namespace diffuse
