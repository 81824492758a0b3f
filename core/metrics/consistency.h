// The consistency phenomenon: two diffusion models trained from different initialisations map the
// same noise to remarkably similar samples. Both models sample from the same per-seed noise (and churn
// streams); their denoised estimates are compared at every step along their own trajectories, and
// their final images at the end.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "nn/precond.h"
#include "sample/sampler.h"

namespace diffuse {

// Similarity of two image sets a, b [N, ...] paired by index.
struct Similarity {
  // mean((a − b)²) / var(a ∪ b), the variance taken over every element of both sets around their
  // common mean: 0 for identical sets, scale-free.
  double relative_msd = 0;
  // cos(a_i, b_i) of each flattened image pair, averaged over the N pairs.
  double cosine = 0;
};

struct ConsistencyResult {
  std::vector<double> sigmas;        // σ_i of the schedule at which step i denoised (N values)
  std::vector<Similarity> denoised;  // of the two models' D̃(x̂_i; σ̂_i), one per step
  Similarity images;                 // of the final samples
  at::Tensor images_a, images_b;     // the final samples [N, C, R, R], float32, CPU
};

// Samples seeds (with labels as sample_images takes them) from `a` and `b` without guidance
// (options.guidance must be 1), in batches of options.batch_size. The two networks must have the same
// image shape. Throws Error(kInvalidArgument) for mismatched networks, as sample_images otherwise.
ConsistencyResult measure_consistency(Precond& a, Precond& b, const std::vector<uint64_t>& seeds,
                                      const std::vector<int64_t>& labels, const SamplerOptions& options);

}  // namespace diffuse
