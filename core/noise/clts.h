// CLTS, the curriculum-learning timestep schedule (spec methods.md §3.2, §3.3).
//  SUPPRESS: q_p(σ) = p0(σ)·(1 − s(p)·h(σ))/Z(p), h = e(σ)^k, e(σ) = σ²/(σ² + σ_d²): the easiest
//            (noisiest) levels lose mass as s rises from 0 to s_max.
//  MIXTURE:  P_p(t) = ω(p)·G(t)/ΣG + (1 − ω(p))/T on a DDPM table, G a Gaussian around μT.
// Both are functions of p alone; tables are rebuilt only when the quantised strength changes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "noise/base_samplers.h"

namespace diffuse {

struct CltsOptions {
  double s_max = 0.5;
  double ramp = 0.5;
  bool cosine = false;
  double exponent = 1;
  double sigma_data = 0.5;
  bool rejection = false;
  int grid_bins = 4096;
  double grid_sigma_min = 0.002, grid_sigma_max = 80;
  double s_quantum = 1e-4;
  // MIXTURE
  double center = 0;  // μT as a (fractional) timestep
  double sigma_frac = 1;
  double final_weight = 1;
};

// s(p) = s_max·g(clamp(p/ramp, 0, 1)) quantised to s_quantum.
double clts_strength(const CltsOptions& options, double p);
// h(σ) = (σ²/(σ² + σ_d²))^k.
double clts_easiness(double sigma, double sigma_data, double exponent);

// The §3.2 inverse-CDF table: G grid cells over ln σ plus two tail cells, weights M·(1 − s·h(σ̄)).
struct CltsTable {
  std::vector<double> lower;       // lower ln σ edge of each cell (−∞ for the first)
  std::vector<double> upper;       // upper edge (+∞ for the last)
  std::vector<double> base_mass;   // M
  std::vector<double> cumulative;  // running sum of the weights
  double total() const { return cumulative.back(); }  // Z_grid
  // P(ln σ ≤ l) under the table (exact base shape within each cell).
  double cdf(const SigmaDensity& density, double l) const;
};
CltsTable build_clts_table(const SigmaDensity& density, const CltsOptions& options, double s);

class CltsSuppressNoise : public NoiseDistribution {
 public:
  // A continuous base (density set) or a discrete one (table and pmf set).
  CltsSuppressNoise(BaseNoise base, CltsOptions options);
  at::Tensor sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                          at::Device device) const override;
  NoiseStatus status(const TrainingProgress& progress) const override;

  int64_t table_builds() const { return builds_; }
  int64_t candidates() const { return candidates_; }  // REJECTION: base draws so far
  // The table or pmf in use at progress p (built if needed).
  const CltsTable& table_at(double p) const;
  const std::vector<double>& pmf_at(double p) const;

 private:
  void rebuild(double s) const;
  BaseNoise base_;
  CltsOptions options_;
  // Cache keyed by the quantised strength; the trainer is single-threaded.
  mutable double cached_s_ = -1;
  mutable CltsTable table_;
  mutable std::vector<double> pmf_;
  mutable at::Tensor pmf_tensor_;
  mutable int64_t builds_ = 0;
  mutable int64_t candidates_ = 0;
};

class CltsMixtureNoise : public NoiseDistribution {
 public:
  // `base` must be discrete with a uniform pmf (DDPM_UNIFORM).
  CltsMixtureNoise(BaseNoise base, CltsOptions options);
  at::Tensor sample_sigma(int64_t n, const TrainingProgress& progress, at::Generator generator,
                          at::Device device) const override;
  NoiseStatus status(const TrainingProgress& progress) const override;
  // ω(p), quantised, never above final_weight.
  double weight(double p) const;
  std::vector<double> pmf(double omega) const;

 private:
  BaseNoise base_;
  CltsOptions options_;
  std::vector<double> gaussian_;  // G(t)/ΣG
  mutable double cached_omega_ = -1;
  mutable at::Tensor pmf_tensor_;
};

}  // namespace diffuse
