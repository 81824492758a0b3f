// Axis 1 of a training recipe (spec methods.md §6): the distribution the training noise levels σ are
// drawn from. Distributions may depend on training progress p (curricula) but keep no state of
// their own, so a resumed run draws the same values.
#pragma once

#include <memory>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "diffuse.pb.h"

namespace diffuse {

class NoiseDistribution {
 public:
  virtual ~NoiseDistribution() = default;
  // n noise levels σ > 0, float32 [n] on `device`, drawn from `generator` (the iteration's stream).
  virtual at::Tensor sample_sigma(int64_t n, double progress, at::Generator generator, at::Device device) const = 0;
};

// ln σ ~ N(p_mean, p_std²) (EDM2, spec edm2.md §5).
class LogNormalNoise : public NoiseDistribution {
 public:
  LogNormalNoise(double p_mean, double p_std) : p_mean_(p_mean), p_std_(p_std) {}
  at::Tensor sample_sigma(int64_t n, double progress, at::Generator generator, at::Device device) const override;

 private:
  double p_mean_, p_std_;
};

// The distribution a resolved NoiseConfig selects.
std::unique_ptr<NoiseDistribution> make_noise_distribution(const v1::NoiseConfig& config);

}  // namespace diffuse
