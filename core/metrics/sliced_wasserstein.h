// Sliced Wasserstein distance between the 7×7 patch distributions of two image sets: weight-free, so
// it needs no trained network (data README "Measuring sample quality").
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace diffuse {

struct SlicedWassersteinOptions {
  int64_t patch_size = 7;
  int64_t patches_per_image = 64;  // at uniform random positions
  int64_t projections = 256;       // random unit directions in patch space
  uint64_t seed = 0;               // positions and directions
};

// Images a, b: [N, C, H, W] (any N ≥ 1 each, the same C, H, W ≥ patch_size), any float range. The
// same number of patches, min(N_a, N_b)·patches_per_image, is drawn from each set (positions from
// separate streams of `seed`), both are standardised with the mean and standard deviation per patch
// coordinate of set a, projected onto the directions, and the 1-D Wasserstein-1 distances (mean
// absolute difference of the sorted projections) are averaged over the directions. Returned ×10³, as
// customary for SWD.
double sliced_wasserstein(const at::Tensor& a, const at::Tensor& b, const SlicedWassersteinOptions& options = {});

}  // namespace diffuse
