// The base noise-level samplers of axis 1 (spec methods.md §1.7, §2): the EDM log-normal, continuous
// logSNR densities by exact inverse CDF, and discrete DDPM tables by an exact pmf.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "noise/ddpm_table.h"
#include "noise/logsnr_density.h"
#include "noise/noise_distribution.h"

namespace diffuse {

// Continuous draws keep ln σ in [−10, 10] (λ in [−20, 20]) so that σ, σ² and the loss weights stay
// finite in fp32; only the heavy Cauchy tails lose noticeable mass to the clamp.
constexpr double kLogSigmaClamp = 10.0;

// ln σ ~ N(p_mean, p_std²) drawn with randn (EDM2, spec edm2.md §5; no clamp).
class LogNormalNoise : public NoiseDistribution {
 public:
  LogNormalNoise(double p_mean, double p_std) : p_mean_(p_mean), p_std_(p_std) {}
  at::Tensor sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                          at::Device device) const override;

 private:
  double p_mean_, p_std_;
};

// ln σ = Q(u), u ~ U(0, 1): exact inverse-CDF sampling of a continuous base (§1.7(1)).
class ContinuousNoise : public NoiseDistribution {
 public:
  explicit ContinuousNoise(SigmaDensity density) : density_(density) {}
  at::Tensor sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                          at::Device device) const override;
  const SigmaDensity& density() const { return density_; }

 private:
  SigmaDensity density_;
};

// Timesteps t ~ pmf over a DDPM table and σ = σ_t (§1.7(2), (3)).
class DiscreteNoise : public NoiseDistribution {
 public:
  DiscreteNoise(std::shared_ptr<const DdpmTable> table, std::vector<double> pmf);
  at::Tensor sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                          at::Device device) const override;
  // Timestep indices int64 [n] (the DDPM-index parameterisation).
  at::Tensor sample_index(int64_t n, at::Generator generator) const;
  const DdpmTable& table() const { return *table_; }
  const std::vector<double>& pmf() const { return pmf_; }

 private:
  std::shared_ptr<const DdpmTable> table_;
  std::vector<double> pmf_;
  at::Tensor probabilities_;  // pmf_ as float64
};

// Draws from pmf (float64 [T], any positive scale) and returns the table's σ, float32 [n] on device.
at::Tensor sample_table_sigma(const DdpmTable& table, const at::Tensor& pmf, int64_t n, at::Generator generator,
                              at::Device device);
// σ = exp(clamp(ℓ)) as float32 on device, from ln σ values in double.
at::Tensor sigma_from_log(const std::vector<double>& log_sigma, at::Device device);

// P(k) = F(e_k) − F(e_{k+1}) with bin edges halfway between the table's logSNRs (§1.7(2)); the
// density's λ is the table's RAW λ plus `offset` (DATA_NORMALIZED).
std::vector<double> discretized_pmf(const LogSnrDensity& density, double offset, const DdpmTable& table);

// A resolved config's base, with what the curricula need to reshape it: the continuous density or
// the discrete table and pmf.
struct BaseNoise {
  std::unique_ptr<NoiseDistribution> sampler;
  std::optional<SigmaDensity> density;     // continuous bases
  std::shared_ptr<const DdpmTable> table;  // discrete bases
  std::vector<double> pmf;                 // discrete bases
  bool discrete() const { return table != nullptr; }
};
BaseNoise make_base_noise(const v1::NoiseConfig& config, double sigma_data);

}  // namespace diffuse
