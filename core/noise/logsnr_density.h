// Noise-level densities as densities over logSNR λ = ln SNR (spec methods.md §1.3, §2.3). Every base
// of the table in §2.3 is a symmetric location-scale family λ = location + scale·z, so one class with
// the standard shape's CDF and quantile covers them all; upper-tail functions keep double precision
// in both tails (§1.7(4)).
#pragma once

#include <memory>

#include "diffuse.pb.h"

namespace diffuse {

enum class LogSnrShape {
  kNormal,           // EDM log-normal: Φ(z)
  kLogistic,         // FM_OT with scale 2: sigmoid(z)
  kLaplace,          // ½e^z (z < 0), 1 − ½e^−z
  kCauchy,           // ½ + arctan(z)/π
  kHyperbolicSecant  // cosine family with scale 1: 1 − (2/π)·arctan(e^(−z/2))
};

class LogSnrDensity {
 public:
  LogSnrDensity(LogSnrShape shape, double location, double scale)
      : shape_(shape), location_(location), scale_(scale) {}

  double pdf(double lambda) const;
  double cdf(double lambda) const;       // P(Λ ≤ λ)
  double sf(double lambda) const;        // P(Λ > λ)
  double quantile(double u) const;       // cdf⁻¹(u)
  double upper_quantile(double v) const; // sf⁻¹(v), precise for small v
  // The schedule λ(t) = Q(1 − t) of §2.3: t = 0 is clean (λ = +∞).
  double schedule(double t) const { return upper_quantile(t); }

  LogSnrShape shape() const { return shape_; }
  double location() const { return location_; }
  double scale() const { return scale_; }

 private:
  LogSnrShape shape_;
  double location_, scale_;
};

// The logSNR density that a NoiseConfig's continuous base selects (EDM_LOGNORMAL and the §2.3 bases;
// not DDPM_UNIFORM). λ is under the config's snr_reference (EDM_LOGNORMAL is always RAW).
LogSnrDensity make_logsnr_density(const v1::NoiseConfig& config);

// λ_raw = λ − offset converts the density's λ to RAW logSNR: offset = 2 ln σ_d for DATA_NORMALIZED
// (§1.3), 0 otherwise.
double logsnr_offset(const v1::NoiseConfig& config, double sigma_data);

// A continuous base as a density of ℓ = ln σ (the variable the curricula work in, §3.2):
// ℓ = (offset − λ)/2, so P(ln σ ≤ ℓ) = sf_λ(offset − 2ℓ).
class SigmaDensity {
 public:
  SigmaDensity(LogSnrDensity lambda, double offset) : lambda_(lambda), offset_(offset) {}
  double pdf(double l) const { return 2 * lambda_.pdf(to_lambda(l)); }
  double cdf(double l) const { return lambda_.sf(to_lambda(l)); }
  double sf(double l) const { return lambda_.cdf(to_lambda(l)); }
  double quantile(double u) const { return to_l(lambda_.upper_quantile(u)); }
  double upper_quantile(double v) const { return to_l(lambda_.quantile(v)); }
  // Mass of (a, b] computed on the side of the median where it keeps its precision.
  double mass(double a, double b) const;
  const LogSnrDensity& lambda_density() const { return lambda_; }
  double offset() const { return offset_; }

 private:
  double to_lambda(double l) const { return offset_ - 2 * l; }
  double to_l(double lambda) const { return 0.5 * (offset_ - lambda); }
  LogSnrDensity lambda_;
  double offset_;
};

}  // namespace diffuse
