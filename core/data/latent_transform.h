// Turning a dataset's VAE posterior (mean ‖ std, as EDM2's dataset tool stores it) into a network
// input: a fresh sample of the posterior at every load, then a per-channel affine map to the
// statistics the network is trained on (EDM2's StabilityVAEEncoder.encode_latents).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace diffuse {

struct LatentTransform {
  int resolution = 64;  // R: latents are R×R
  int channels = 4;     // C: the network's channels; a dataset example holds 2C (means, then stds)
  // z' = z·scale + bias per channel, in float32: scale = final_std / raw_std and
  // bias = −raw_mean·scale, rounded to float32 as the reference computes them.
  std::vector<float> scale, bias;
};

// The transform for latents whose raw per-channel statistics are `raw_mean` and `raw_std` (one value
// per channel, stds > 0), mapped to mean 0 and standard deviation `final_std`.
LatentTransform make_latent_transform(int resolution, const std::vector<double>& raw_mean,
                                      const std::vector<double>& raw_std, double final_std);

// float32 [2C, R, R] (posterior means ‖ stds) → float32 [C, R, R]: z = mean + ε·std with ε ~ N(0, I)
// drawn from `noise_seed` (so the same seed gives the same sample on any thread), then z·scale + bias.
// `flip` mirrors the posterior horizontally first. Throws Error(kInvalidArgument) naming both shapes
// when the example's shape is not [2C, R, R].
at::Tensor transform_latent(const at::Tensor& mean_std, const LatentTransform& transform, bool flip,
                            uint64_t noise_seed);

}  // namespace diffuse
